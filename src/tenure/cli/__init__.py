"""Tenure cli."""
