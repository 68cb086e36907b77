"""``python -m metagenx`` runs the CLI."""

import sys

try:
    from metagenx.cli import main
except KeyboardInterrupt:  # Ctrl-C while the CLI is still being imported: nothing has begun
    sys.stderr.write("interrupted while starting; nothing was run\n")
    sys.exit(130)

main()
