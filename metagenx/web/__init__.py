"""The browser dashboard: static files served by the API server at ``/``."""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).with_name("static")
