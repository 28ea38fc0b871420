"""Helpers for testing and benchmarking the BFF with real processes; `plugin` is the pytest plugin
(entry point `bff`) for application teams, the only module here that imports pytest."""
