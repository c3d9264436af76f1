"""Consent lifecycle (TOK-5): what the user approved, for which client, and its state."""
