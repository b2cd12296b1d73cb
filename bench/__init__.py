"""Tenure's benchmarks: `make bench` runs them all; they print figures, they never pass or fail."""
