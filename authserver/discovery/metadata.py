"""The metadata builder; each feature adds its entries here as it lands."""

from __future__ import annotations

from typing import Any

from authserver.settings import Settings


def build_metadata(settings: Settings) -> dict[str, Any]:
    issuer = settings.issuer
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/jwks",
    }
