"""RFC 7662 introspection and RFC 9701 JWT introspection: what both test files share.

The token, introspection and revocation calls are the shared ``tests.lifecycle`` kit.
"""

JWT_MEDIA_TYPE = "application/token-introspection+jwt"
INACTIVE = {"active": False}
