"""Tenure privacy."""
