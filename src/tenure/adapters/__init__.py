"""Tenure adapters."""
