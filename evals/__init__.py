"""Benchmark eval suites run with ``resolvekit eval evals/<suite>`` (see docs/benchmarks.md)."""
