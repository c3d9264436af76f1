"""Token revocation (RFC 7009), bulk revocation by watermark, and its propagation (TOK-3)."""
