"""Benchmark and fault drills (issue 5): `make bench` -> bench.run, `make faults` -> bench.faults.

Everything here talks to 127.0.0.1 only, runs bounded in time and count, and stops the servers
it started. See docs/PERFORMANCE.md for what is measured and the latest numbers.
"""
