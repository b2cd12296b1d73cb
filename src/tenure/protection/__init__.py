"""Tenure protection."""
