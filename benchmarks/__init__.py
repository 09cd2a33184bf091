"""Benchmarks: `make bench` (or `python -m benchmarks [NAME ...]`) runs every `bench_*.py`."""
