"""The authorization endpoint: PAR-only front channel and its error pages."""
