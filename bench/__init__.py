"""Benchmark suite for issue #7 (scale and performance); run it with ``python -m bench``."""
