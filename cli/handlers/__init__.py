"""Command handlers: `(Invocation) -> str | None`, raising CommandError on refusal."""

from __future__ import annotations
