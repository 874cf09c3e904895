"""Accounts: who may open a session (keys) and how many at once (admission)."""
