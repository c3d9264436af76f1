"""Token endpoint, grants, JWT access tokens (RFC 9068), ID tokens and refresh-token families."""
