"""RFC 9126 Pushed Authorization Requests, with RFC 9101 signed request objects (JAR)."""
