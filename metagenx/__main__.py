"""``python -m metagenx`` runs the CLI."""

from metagenx.cli import main

main()
