"""The UK Open Banking Read/Write API v4.0 wire: envelopes, errors, permissions.

Nothing here touches the database or the consent entity: the consent API, the
accounts resource server and the authorization checks all speak the wire through
this package, so each wire rule lives here once.
"""
