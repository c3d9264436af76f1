"""Strong customer authentication: users, passwords (argon2id), TOTP, and later WebAuthn."""
