"""`python -m gateway.emulator`: the same as `livegate emulator`."""

from __future__ import annotations

from .server import main

raise SystemExit(main())
