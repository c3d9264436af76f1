"""UK OB v4.0 domestic payments for TPPs under ``/open-banking/v4.0/pisp``.

Served by the authorization server's app only (``create_app``), never by the standalone
resource server (``authserver.rs``): every answer carries an ``x-jws-signature`` made with
the server's private signing key, which a resource-server process never holds.
"""
