"""RFC 9449 DPoP: one proof validator for PAR, the token endpoint and every resource server."""
