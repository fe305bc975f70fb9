"""ricsdk benchmarks: ``python -m benchmarks`` (``make bench``) writes results/latest.json and prints a table."""
