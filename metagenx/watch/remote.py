"""A watch fitted by a server: the folder is watched here and each complete file is pushed to it.

The server keys a watch's jobs by file content, so pushing is idempotent: a restarted
watcher pushes the folder again, files that arrived while it was stopped are fitted, and
nothing is fitted twice. Files whose bytes the server already has (as of the latest series
read) are not even uploaded again. Order values (``header:temperature``) are read here,
where the files are trusted, and sent with each file.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metagenx.engine.settings import FitSettings
from metagenx.errors import DataFileError
from metagenx.watch.files import arrivals, content_hash
from metagenx.watch.series import SeriesRow, read_order_quantity

if TYPE_CHECKING:
    from metagenx.client import ApiClient
    from metagenx.watch.session import WatchConfig

log = logging.getLogger(__name__)

REFRESH = 1.0
"""Seconds between reads of the series from the server."""
RETRY_PUSH = 5.0
"""Seconds before a push that failed on the way (server unreachable) is tried again."""


class RemoteWatch:
    """Pushes the complete files of ``config.folder`` to a watch on the server until ``stop`` is set."""

    def __init__(self, config: WatchConfig, client: ApiClient, project: str) -> None:
        self.config = config
        self.client = client
        self.project = project
        self.watch_id = 0
        self.series: dict[str, Any] = {}
        self.known: set[str] = set()
        self.problems: list[str] = []
        self.pending: dict[Path, float] = {}
        self.pushed = 0

    def definition(self) -> dict[str, Any]:
        """The watch as the server takes it (fit settings: only those changed from the defaults)."""
        defaults = FitSettings().to_dict()
        config = self.config
        return {
            "name": config.study_name,
            "project": self.project,
            "dataset": config.dataset,
            "sequential": config.sequential,
            "loader": config.loader,
            "loader_options": dict(config.loader_options),
            "settings": {k: v for k, v in config.settings.to_dict().items() if v != defaults[k]}
            | ({"solve": config.solve} if config.solve is not None else {}),
            "order": config.order,
        } | ({"targets": dict(config.targets)} if config.targets else {})

    def open(self) -> int:
        """Create (or find) the watch on the server; its id."""
        self.watch_id = int(self.client.create_watch(self.config.template, self.definition())["id"])
        self.refresh()
        return self.watch_id

    def refresh(self) -> dict[str, Any]:
        """Read the series again (and so which contents the server has)."""
        self.series = self.client.watch(self.watch_id)
        self.known = {str(row["sha256"]) for row in self.series["rows"] if row.get("sha256")}
        return self.series

    def rows(self) -> list[SeriesRow]:
        """The series rows of the latest read."""
        names = SeriesRow.__dataclass_fields__
        return [
            SeriesRow(**{k: v for k, v in row.items() if k in names}) for row in self.series.get("rows", [])
        ]

    def push(self, path: Path) -> bool:
        """Push ``path`` unless the server has its bytes; True when the server queued a new fit."""
        from metagenx.client import ClientError

        digest = content_hash(path)
        if digest is None or digest in self.known:
            return False
        try:
            order_value, order_unit = read_order_quantity(path, self.config.order, self.config.loader_options)
        except DataFileError as error:
            log.warning("%s", error)
            order_value, order_unit = None, None
        try:
            answer = self.client.push_file(self.watch_id, path, order_value, order_unit)
        except ClientError as error:
            if error.status is None or error.status >= 500 or error.status == 429:
                self.pending[path] = time.monotonic() + RETRY_PUSH  # tried again, the file may change
            self.problems.append(f"{path.name}: {error}")
            return False
        self.pending.pop(path, None)
        self.known.add(digest)
        self.pushed += bool(answer["created"])
        return bool(answer["created"])

    def run(self, stop: threading.Event) -> None:
        """Push files as they become complete until ``stop`` is set (opens the watch first if needed)."""
        if not self.watch_id:
            self.open()
        next_refresh = 0.0
        for ready in arrivals(self.config.folder, self.config.pattern, stop, settle=self.config.settle):
            now = time.monotonic()
            due = [path for path, when in self.pending.items() if when <= now]
            for path in [*ready, *due]:
                self.pending.pop(path, None)
                self.push(path)
            if now >= next_refresh:
                next_refresh = now + REFRESH
                try:
                    self.refresh()
                except Exception as error:  # the display waits for the server; pushing goes on
                    log.warning("could not read the series: %s", error)

    def export(self, directory: Path) -> list[Path]:
        """Download the series table (``results.csv``) and the trend plot, when there is one."""
        from metagenx.client import ClientError

        base = f"/api/v1/watches/{self.watch_id}"
        saved = [self.client.download(f"{base}/table?format=csv", directory / "results.csv")]
        try:
            saved.append(
                self.client.download(f"{base}/plots/parameter_trends.png", directory / "parameter_trends.png")
            )
        except ClientError as error:
            if error.status != 404:  # 404: fewer than two fitted files, no plot yet
                raise
        return saved
