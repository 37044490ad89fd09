"""Benchmarks of ntpverify, run with ``python -m benchmarks [section ...]`` (see __main__.py).

Each module contributes one section: a callable that measures and prints a table. Timings are
medians of repeated ``time.perf_counter`` runs after a warm-up; the tests assert nothing about
time, so these tables are the only record of speed.
"""
