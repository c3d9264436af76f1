"""JARM (JWT Secured Authorization Response Mode) and the RFC 9207 ``iss`` parameter.

``authorization_response`` is the one place an authorization response (success or
error) reaches the client's redirect_uri, so ``iss`` or the JARM JWT is never forgotten.
"""
