"""Registered TPP clients: metadata, their public keys (jwks or jwks_uri), and lifecycle."""
