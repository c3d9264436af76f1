"""Authorization-server metadata (RFC 8414) and OpenID Provider configuration.

Both documents come from one builder so the issuer and every endpoint are
identical in each; the metadata lists only what works at this commit.
"""
