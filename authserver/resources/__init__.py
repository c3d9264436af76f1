"""Resource-server side: the token guard every protected endpoint uses."""
