"""Account data behind one interface: ``AccountProvider`` (a bank plugs its core banking
in there) and a SQL implementation with identifiers encrypted at rest (DATA-1)."""
