"""Tenure: keep a bank's customers and protect their accounts with one engine."""

__version__ = "0.1.0"
__all__ = ["__version__"]
