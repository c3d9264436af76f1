"""Token introspection (RFC 7662) with signed JWT responses (RFC 9701)."""
