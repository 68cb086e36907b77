"""Imports every command module so that each registers itself on :data:`metagenx.cli.app.app`."""

from metagenx.cli import (  # noqa: F401
    client,
    cluster,
    convert,
    db,
    examples,
    fit,
    info,
    serve,
    solve,
    study,
    tune,
    watch,
)
