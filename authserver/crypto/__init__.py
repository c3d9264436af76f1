"""Cryptographic primitives shared by every floor: the master key and envelope encryption."""
