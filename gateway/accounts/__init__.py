"""Accounts: who may open a session (virtual keys, the master key, origins), how many at once (admission over
shared counters), and what it cost (spend rows, budgets); the admin API over all of it."""
