"""Helpers for testing and benchmarking the BFF with real processes (no pytest imports here)."""
