"""Tenure retention."""
