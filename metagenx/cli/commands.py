"""Imports every command module so that each registers itself on :data:`metagenx.cli.app.app`."""

from metagenx.cli import convert, examples, fit, info  # noqa: F401
