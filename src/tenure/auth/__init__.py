"""Authentication and authorisation: users, API keys, tokens and permissions."""
