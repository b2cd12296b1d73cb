"""Tenure api."""
