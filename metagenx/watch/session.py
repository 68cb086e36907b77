"""A watch: one template, one folder, every complete new or changed file fitted once, in arrival order.

The watch is a study of kind ``watch`` in the job store of its output folder; each data
file becomes a job keyed by the file's content, so nothing is fitted twice (a file
rewritten with new content is fitted again) and files that arrived while the watcher
was stopped are fitted when it starts again.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from metagenx.controller import Controller
from metagenx.engine.settings import FitSettings
from metagenx.errors import DataFileError
from metagenx.events import Event, Requeued, is_terminal
from metagenx.executors import Executor, LocalExecutor
from metagenx.store import Store, Study, StudyKind, open_store
from metagenx.study.report import write_study_results
from metagenx.study.submit import submit_study
from metagenx.watch.files import arrivals, content_hash
from metagenx.watch.series import (
    DataFile,
    FileFit,
    check_order,
    queue_file,
    read_order_quantity,
)

log = logging.getLogger(__name__)

RESULTS_INTERVAL = 1.0
"""Seconds between rewrites of the series table and plots while fits finish."""
ARRIVAL_TICK = 0.05
"""Seconds between looks at files waiting to settle: a complete file is queued this soon after it settled."""


@dataclasses.dataclass(frozen=True)
class WatchConfig:
    """What to watch and how to fit.

    Attributes:
        template: the model file each data file is loaded into.
        folder: the watched folder (not recursive).
        pattern: shell-style file-name pattern, e.g. ``*.dat``.
        dataset: the template's data set (index or name) each file is loaded into.
        sequential: each fit starts from the previous file's fitted values.
        settings: fit settings of every job (the seed defaults to 1, so fits are repeatable).
        loader: GenX data loader name; ``loader_options`` its settings.
        settle: seconds a file's size and mtime must stay unchanged before it is read.
        order: x axis of the trend plots: ``name`` (arrival order), ``header:<key>`` or
            ``column:<name>`` (see :mod:`metagenx.watch.series`).
        solve: solve each file (raced starts until confident) with these solve settings
            (e.g. ``{"budget": 60}``); ``settings`` are then the starts' settings. None: one fit.
        targets: σ wanted per parameter (its unit), e.g. ``{"SiO.setD": 2.0}``: each file's
            advice says whether it is reached or how much longer to count
            (:mod:`metagenx.engine.advice`).
    """

    template: Path
    folder: Path
    pattern: str = "*"
    dataset: int | str = 0
    sequential: bool = False
    settings: FitSettings = dataclasses.field(default_factory=FitSettings)
    loader: str = "auto"
    loader_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    settle: float = 0.5
    name: str = ""
    order: str = "name"
    solve: dict[str, Any] | None = None
    targets: dict[str, float] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        check_order(self.order)

    @property
    def study_name(self) -> str:
        return self.name or f"watch {self.folder.name}/{self.pattern} with {self.template.name}"

    @property
    def file_fit(self) -> FileFit:
        """How each file is fitted."""
        return FileFit(
            template=str(self.template.resolve()),
            dataset=self.dataset,
            loader=self.loader,
            loader_options=self.loader_options,
            settings=self.settings,
            sequential=self.sequential,
            solve=self.solve,
        )


class WatchSession:
    """Runs a watch until ``stop`` is set: a controller thread fits, this thread finds files."""

    def __init__(
        self,
        config: WatchConfig,
        out_dir: Path,
        *,
        executor: Executor | None = None,
        workers: int | None = None,
        db: str | None = None,
        store: Store | None = None,
    ) -> None:
        self.config = config
        self.out_dir = out_dir
        self.executor = executor or LocalExecutor(workers=workers, prewarm=True)
        self.store = store or open_store(db, out_dir)
        self.own_store = store is None
        self.listeners: list[Callable[[Event], None]] = []
        self.results_due = threading.Event()
        self.last_results_write = 0.0
        self.study_id = 0

    # -- jobs --------------------------------------------------------------------------
    def open_study(self) -> int:
        definition = {
            "kind": "watch",
            "template": str(self.config.template.resolve()),
            "folder": str(self.config.folder.resolve()),
            "pattern": self.config.pattern,
            "sequential": self.config.sequential,
            "order": self.config.order,
            "settings": self.config.settings.to_dict()
            | ({"solve": self.config.solve} if self.config.solve is not None else {}),
        } | ({"targets": dict(self.config.targets)} if self.config.targets else {})
        self.out_dir.mkdir(parents=True, exist_ok=True)
        return submit_study(
            self.store,
            project="local",
            name=self.config.study_name,
            kind=StudyKind.WATCH,
            specs=[],
            directory=self.out_dir,
            definition=definition,
        )

    def submit_file(self, path: Path) -> bool:
        """Queue a fit of ``path`` unless a job of this watch already fitted the same bytes."""
        digest = content_hash(path)
        if digest is None:
            return False
        data = DataFile(str(path.resolve()), path.name, digest, *self.order_quantity(path))
        with self.store.session() as session:
            _, created = queue_file(
                session, session.get_one(Study, self.study_id), self.config.file_fit, data
            )
        if created:
            log.info("queued %s", path.name)
        return created

    def order_quantity(self, path: Path) -> tuple[float | None, str | None]:
        """The file's order value and its unit (None when ordered by arrival or when the file lacks
        it; the unit None when the header gives none)."""
        try:
            return read_order_quantity(path, self.config.order, self.config.loader_options)
        except DataFileError as error:
            log.warning("%s", error)
            return None, None

    # -- the loop ----------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Watch and fit until ``stop`` is set; running fits are then re-queued for the next start.

        Three threads: this one finds complete files and queues them (waking the controller),
        the controller's runs the fits, and a third rewrites the series table and plots, so
        that neither noticing a file nor starting its fit waits for a plot.
        """
        self.study_id = self.open_study()
        controller = Controller(self.store, self.executor)
        controller.listeners.append(self.on_event)
        controller.listeners.extend(self.listeners)
        controller.recover()
        fitting = threading.Thread(
            target=controller.run, args=(self.study_id, stop), kwargs={"until_idle": False}, daemon=True
        )
        fitting.start()
        writing = threading.Thread(target=self.keep_results_written, args=(stop,), daemon=True)
        writing.start()
        try:
            for ready in arrivals(
                self.config.folder, self.config.pattern, stop, settle=self.config.settle, tick=ARRIVAL_TICK
            ):
                if any([self.submit_file(path) for path in ready]):
                    controller.wake()
        finally:
            stop.set()
            fitting.join()
            writing.join()
            self.write_results()
            if self.own_store:
                self.store.close()

    def keep_results_written(self, stop: threading.Event) -> None:
        """Rewrite the results when fits have finished, at most every :data:`RESULTS_INTERVAL` s."""
        while not stop.is_set():
            if not self.results_due.wait(0.5):
                continue
            pause = RESULTS_INTERVAL - (time.monotonic() - self.last_results_write)
            if pause > 0 and stop.wait(pause):
                return
            self.results_due.clear()
            self.last_results_write = time.monotonic()
            self.write_results()

    def on_event(self, event: Event) -> None:
        """Controller listener (its thread, after the event is recorded)."""
        if is_terminal(event):
            self.results_due.set()
        if isinstance(event, Requeued):
            log.info("%s starts from an earlier file instead", event.label)

    def write_results(self) -> None:
        """Rewrite the series table (CSV/JSON) and plots from the store; never stops the watch."""
        try:
            write_study_results(self.store, self.study_id, self.out_dir)
        except Exception as exc:  # a full disk must not end a beamtime watch
            log.warning("could not write the series results: %s", exc)
