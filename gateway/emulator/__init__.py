"""Offline Gemini Live emulator: the upstream for `make run` and for every test (GEMINI_LIVE.md)."""

from __future__ import annotations

from .routes import developer_path, vertex_path
from .script import FAULT_POINTS, FaultPoint, Script
from .server import ConnectionRecord, EmulatorServer, main, run_forever

__all__ = [
    "FAULT_POINTS",
    "ConnectionRecord",
    "EmulatorServer",
    "FaultPoint",
    "Script",
    "developer_path",
    "main",
    "run_forever",
    "vertex_path",
]
