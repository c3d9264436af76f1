"""Client authentication: private_key_jwt (RFC 7523, FAPI 2.0 rules) at every endpoint.

PAR, token, revocation and introspection all call ``ClientAuthenticator.authenticate``;
every failure is the same 401 ``invalid_client``, and the detail goes to the log.
"""
