"""τ²-bench retail as a resolvekit eval suite, with a deterministic task-driven customer.

Run it::

    resolvekit eval evals/tau2_retail --trials 1
    python -m evals.tau2_retail --tasks path/to/tasks.json --db path/to/db.json --model local

See docs/benchmarks.md ("τ²-bench retail") for what is measured and how the customer works.
"""
