"""Whether a SQLite database file can be created and written here, checked before SQLAlchemy is loaded: a folder
that is missing or read-only (a container's read-only config mount) gets one line that says what to set, instead
of the driver's "unable to open database file" and a traceback."""

from __future__ import annotations

import os
from pathlib import Path

from gateway.accounts.database_url import sqlite_file_of


def sqlite_file_problem(url: str) -> str | None:
    """For a normalized SQLite URL: why its file cannot be used, in words an operator acts on; else None."""
    name = sqlite_file_of(url)
    if name is None:
        return None
    path = Path(name)
    folder = path.parent
    if not folder.is_dir():
        return (
            f"cannot create the SQLite file {path}: the folder {folder} does not exist (a path after sqlite:/// is "
            "taken from the config's folder; sqlite+aiosqlite:////abs/path.db, four slashes, is absolute)"
        )
    # SQLite also writes its -wal and -shm files beside the database, so the folder must be writable too.
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.R_OK | os.W_OK)):
        return (
            f"cannot write the SQLite file {path}: {folder} is not writable by this user (a read-only config "
            "mount?): set general_settings.database_url to a writable file, e.g. "
            "sqlite+aiosqlite:////var/lib/livegate/livegate.db, or to Postgres"
        )
    return None
