"""Consumers of the stack written as a third party would write them: only its public endpoints."""
