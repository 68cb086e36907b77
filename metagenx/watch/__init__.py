"""Real-time fitting during beamtime: watch a folder and fit every new or changed data file."""

from metagenx.watch.session import WatchSession

__all__ = ["WatchSession"]
