"""Run a benchmark's inner script in a scratch network namespace and read its JSON figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_inner(name: str, code: str, *args: object, timeout: float = 600) -> dict[str, Any] | None:
    """`python -c code args...` inside a new namespace `pmb-NAME-xxxxxxxx` (deleted afterwards);
    the JSON object it prints last, or None (its error output printed) when it failed."""
    ns = f'pmb-{name}-{uuid.uuid4().hex[:8]}'
    subprocess.run(['ip', 'netns', 'add', ns], check=True)
    try:
        out = subprocess.run(['ip', 'netns', 'exec', ns, sys.executable, '-c', code, *map(str, args)],
                             capture_output=True, text=True, cwd=ROOT, timeout=timeout)
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            return None
        return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
    finally:
        subprocess.run(['ip', 'netns', 'del', ns], check=False)
