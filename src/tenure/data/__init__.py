"""Tenure data."""
