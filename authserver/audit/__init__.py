"""Tamper-evident, append-only audit trail (OPS-1) that every feature records into."""
