"""Cross-cutting HTTP concerns: request ids, JSON logs, security headers, health probes."""
