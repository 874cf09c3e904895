"""Bundling a browser entry script with esbuild (the npm dev dependency), so npm packages such as
`@openai/agents-realtime` run in a real page with no build step in the repo."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ESBUILD = ROOT / "node_modules" / ".bin" / "esbuild"


def bundle(entry: Path, out: Path, global_name: str | None = None) -> str:
    """`entry` and everything it imports from node_modules as one browser script (IIFE); returns its text."""
    assert ESBUILD.exists(), f"{ESBUILD} is missing: run `npm install` in {ROOT}"
    command = [str(ESBUILD), str(entry), "--bundle", "--format=iife", "--platform=browser", f"--outfile={out}"]
    if global_name:
        command.append(f"--global-name={global_name}")
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"esbuild failed:\n{proc.stderr}"
    return out.read_text()
