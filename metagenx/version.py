"""The version of metagenx (one place; the package and every result report it)."""

from __future__ import annotations

__version__ = "0.1.0"
