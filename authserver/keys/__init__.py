"""Signing keys: generation, encrypted storage, JWKS publication and rotation with overlap."""
