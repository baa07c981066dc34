"""Drift and performance monitoring: statistics, the monitor step and its report."""
