"""Alembic migrations for the operational store (run by ``upgrade_to_head``)."""
