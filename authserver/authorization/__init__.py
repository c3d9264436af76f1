"""The authorization endpoint: PAR-only front channel (FAPI 2.0 SP 5.3.2.2-3)."""
