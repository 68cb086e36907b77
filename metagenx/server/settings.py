"""The server's settings: one object, from ``metagenx serve`` flags or ``METAGENX_*`` variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class Settings(BaseSettings):
    """Everything ``metagenx serve`` can be told. Each field also reads ``METAGENX_<FIELD>``
    (e.g. ``METAGENX_DATA_DIR``, ``METAGENX_DB``); values passed to the constructor win.

    Attributes:
        host: address to listen on.
        port: TCP port.
        db: database URL (default: SQLite file ``metagenx.db`` in ``data_dir``).
        data_dir: where the database, uploads and fit outputs live.
        workers: fits run at once (default: number of cores).
        max_upload_mb: largest request body accepted, MiB (413 above).
        max_running_per_user: running fits per user (None: only the worker count limits);
            a user's own limit (``metagenx user add --max-running``) takes precedence.
        max_queued_per_user: queued jobs per user; submissions beyond it get 429.
        sse_keepalive: seconds between keep-alive comments on idle event streams.
        log_level: uvicorn's log level.
        unsafe_no_sandbox: run uploaded models without the sandbox (only for trusted users).
        bwrap: the bubblewrap program of the sandbox.
        limit_cpu_seconds, limit_memory_gib, limit_wall_seconds, limit_output_mib: limits of
            every fit (CPU s, GiB, wall s, MiB written); users may have their own.
        executor: ``local`` (runner processes here) or ``dask`` (the workers of a Dask cluster,
            which must see ``data_dir`` at the same path and, unless ``unsafe_no_sandbox``,
            have bubblewrap and run as root).
        scheduler: the Dask scheduler's address, e.g. ``tcp://HOST:8786`` (``executor="dask"``).
    """

    model_config = SettingsConfigDict(env_prefix="METAGENX_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    db: str | None = None
    data_dir: Path = Path("metagenx-data")
    workers: int | None = Field(default=None, ge=1)
    max_upload_mb: float = Field(default=50.0, gt=0)
    max_running_per_user: int | None = Field(default=None, ge=0)
    max_queued_per_user: int | None = Field(default=10_000, ge=0)
    sse_keepalive: float = Field(default=15.0, gt=0)
    log_level: str = "info"
    unsafe_no_sandbox: bool = False
    bwrap: str = "bwrap"
    limit_cpu_seconds: float = Field(default=3600.0, gt=0)
    limit_memory_gib: float = Field(default=4.0, gt=0)
    limit_wall_seconds: float = Field(default=4 * 3600.0, gt=0)
    limit_output_mib: float = Field(default=512.0, gt=0)
    executor: Literal["local", "dask"] = "local"
    scheduler: str | None = None

    @property
    def max_upload_bytes(self) -> int:
        """``max_upload_mb`` in bytes."""
        return int(self.max_upload_mb * MIB)

    @property
    def uploads_dir(self) -> Path:
        """Content-addressed uploaded model files: ``<data_dir>/uploads/<sha256>.<ext>``."""
        return self.data_dir / "uploads"

    @property
    def studies_dir(self) -> Path:
        """Study directories: ``<data_dir>/studies/<owner>/<project>/<study>/``."""
        return self.data_dir / "studies"
