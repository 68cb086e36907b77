"""Imports every command module so that each registers itself on :data:`metagenx.cli.app.app`."""

# In the order ``metagenx --help`` lists them.
from metagenx.cli import fit, solve, tune, info, convert, examples  # noqa: F401, I001
from metagenx.cli import study, watch  # noqa: F401
from metagenx.cli import serve, client, cluster, db  # noqa: F401
