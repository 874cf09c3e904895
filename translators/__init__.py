"""livegate package."""
