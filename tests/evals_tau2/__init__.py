"""Tests of the τ²-bench retail eval suite (evals/tau2_retail)."""
