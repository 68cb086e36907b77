"""Imports every command module so that each registers itself on :data:`metagenx.cli.app.app`."""

from metagenx.cli import examples  # noqa: F401
