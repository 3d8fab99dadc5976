"""Benchmarks of the complaint pipeline (installed as `complaints_bench`).

Never part of the test suite: they print figures and compare against a baseline
measured in the same run, as ratios, because these machines are noisy.
"""
