"""`python -m pmiprouter` runs the console entry point."""

from __future__ import annotations

from pmiprouter.app import main

raise SystemExit(main())
