"""Authorization responses: consent, RFC 9207 iss, JARM modes, and the login/consent pages."""
