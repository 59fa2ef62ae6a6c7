"""Configuration layer: frozen model, validation, rendering and loading (pure)."""

from __future__ import annotations
