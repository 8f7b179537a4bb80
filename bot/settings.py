"""Configuration read from the environment, with embedded defaults for a laptop.

Every process (Rasa server, action server, staff tools) reads the same variables, so a value
set once in the environment reaches all of them.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _sqlite_url(filename: str) -> str:
    return f"sqlite:///{PROJECT_ROOT / filename}"


def database_url() -> str:
    """Where partners and events live (`DATABASE_URL`, default: `ecrin.db` in the project)."""
    return os.environ.get("DATABASE_URL") or _sqlite_url("ecrin.db")


def tracker_store_url() -> str:
    """Where Rasa stores conversations (`TRACKER_STORE_URL`, default: `tracker.db`)."""
    return os.environ.get("TRACKER_STORE_URL") or _sqlite_url("tracker.db")


def port(name: str, default: int) -> int:
    """A TCP port from the environment, e.g. `port("RASA_PORT", 5005)`."""
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise SystemExit(f"{name} must be a port number, got {raw!r}") from error
    if not 0 < value < 65536:
        raise SystemExit(f"{name} must be between 1 and 65535, got {value}")
    return value
