"""A Python client of the metagenx HTTP API (httpx), used by ``metagenx submit/status/results/cancel``.

Server and token come from the arguments, else ``METAGENX_SERVER`` / ``METAGENX_TOKEN``,
else ``server = "..."`` / ``token = "..."`` in ``client.toml`` in the user's config
directory (``~/.config/metagenx/client.toml`` on Linux). Requests that fail on the way
(connection refused or reset, a server restarting) are repeated for up to
:data:`RETRY_FOR` seconds: every request of the API is safe to repeat, submissions
included (the server finds the same job again by its content).
"""

from __future__ import annotations

import json
import os
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from metagenx.errors import MetagenxError

DEFAULT_SERVER = "http://127.0.0.1:8000"
CONFIG_ENV = "METAGENX_CLIENT_CONFIG"
RETRY_FOR = 30.0
RETRY_STATUS = (502, 503, 504)
TIMEOUT = httpx.Timeout(60.0, connect=10.0)
STREAM_TIMEOUT = httpx.Timeout(None, connect=10.0)


class ClientError(MetagenxError):
    """The server refused a request (the message is its reason) or cannot be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def config_path() -> Path:
    """The client's config file: ``$METAGENX_CLIENT_CONFIG``, else ``<config dir>/metagenx/client.toml``."""
    import platformdirs

    return Path(os.environ.get(CONFIG_ENV) or Path(platformdirs.user_config_dir("metagenx")) / "client.toml")


@dataclass(frozen=True)
class ClientConfig:
    server: str
    token: str | None

    @classmethod
    def resolve(cls, server: str | None = None, token: str | None = None) -> ClientConfig:
        """Arguments first, then environment variables, then the config file, then the default server."""
        file: dict[str, Any] = {}
        path = config_path()
        if path.is_file():
            try:
                file = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as error:
                raise ClientError(f"cannot read the client config {path}: {error}") from None
        url = server or os.environ.get("METAGENX_SERVER") or file.get("server") or DEFAULT_SERVER
        return cls(
            server=str(url).rstrip("/"),
            token=token or os.environ.get("METAGENX_TOKEN") or file.get("token"),
        )


class ApiClient:
    """Calls of the API; every method raises :class:`ClientError` with the server's reason."""

    def __init__(self, config: ClientConfig, *, retry_for: float | None = None) -> None:
        if not config.token:
            raise ClientError(
                f'no token: pass --token, set METAGENX_TOKEN, or put token = "..." in {config_path()} '
                "(an admin creates one with 'metagenx token create NAME')"
            )
        self.config = config
        self.retry_for = RETRY_FOR if retry_for is None else retry_for
        self.http = httpx.Client(
            base_url=config.server, headers={"Authorization": f"Bearer {config.token}"}, timeout=TIMEOUT
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------------
    def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        """Send a request, repeating it while the server is unreachable or restarting."""
        deadline = time.monotonic() + self.retry_for
        delay = 0.25
        while True:
            for upload in options.get("files") or []:
                upload[1][1].seek(0)  # a repeated upload starts from the beginning again
            try:
                response = self.http.request(method, path, **options)
                if response.status_code not in RETRY_STATUS or time.monotonic() > deadline:
                    return checked(response)
            except httpx.TransportError as error:
                if time.monotonic() > deadline:
                    raise ClientError(f"cannot reach the server {self.config.server}: {error}") from None
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None}).json()

    # -- the API ----------------------------------------------------------------------------------
    def submit_model(self, model: Path, settings: dict[str, Any], project: str) -> dict[str, Any]:
        """Submit one fit; ``created`` in the answer is False when the same fit existed already."""
        with model.open("rb") as handle:
            files = [("model", (model.name, handle, "application/octet-stream"))]
            data = {"settings": json.dumps(settings), "project": project}
            return dict(self.request("POST", "/api/v1/jobs", files=files, data=data).json())

    def submit_study(
        self, definition: dict[str, Any], files: list[tuple[str, Path]], project: str
    ) -> dict[str, Any]:
        """Submit a study with its files (upload name → local path)."""
        handles = [(name, path.open("rb")) for name, path in files]
        try:
            parts = [("files", (name, handle, "application/octet-stream")) for name, handle in handles]
            data = {"definition": json.dumps(definition), "project": project}
            return dict(self.request("POST", "/api/v1/studies", files=parts, data=data).json())
        finally:
            for _, handle in handles:
                handle.close()

    def job(self, job_id: int) -> dict[str, Any]:
        return dict(self.get(f"/api/v1/jobs/{job_id}"))

    def study(self, study_id: int) -> dict[str, Any]:
        """The study: name, project, state, job counts by state."""
        return dict(self.get(f"/api/v1/studies/{study_id}"))

    def study_summary(self, study_id: int) -> dict[str, Any]:
        """The study (``study``) and its summary: best fit, success rate, parameter statistics."""
        return dict(self.get(f"/api/v1/studies/{study_id}/summary"))

    def study_table_csv(self, study_id: int) -> str:
        """The study's results table, one row per job, as CSV text."""
        return self.request("GET", f"/api/v1/studies/{study_id}/table", params={"format": "csv"}).text

    def create_watch(self, template: Path, definition: dict[str, Any]) -> dict[str, Any]:
        """Create a watch fitting pushed files with ``template`` (``definition``: name, project,
        dataset, sequential, loader, loader_options, settings, order); the same again finds it."""
        with template.open("rb") as handle:
            files = [("template", (template.name, handle, "application/octet-stream"))]
            data = {"definition": json.dumps(definition)}
            return dict(self.request("POST", "/api/v1/watches", files=files, data=data).json())

    def push_file(
        self, watch_id: int, path: Path, order_value: float | None = None, order_unit: str | None = None
    ) -> dict[str, Any]:
        """Push a data file to a watch (with its order value and that value's unit, when known);
        ``created`` is False when the watch has these bytes already."""
        with path.open("rb") as handle:
            files = [("file", (path.name, handle, "application/octet-stream"))]
            data = {} if order_value is None else {"order_value": repr(order_value)}
            if order_value is not None and order_unit:
                data["order_unit"] = order_unit
            answer = self.request("POST", f"/api/v1/watches/{watch_id}/files", files=files, data=data)
            return dict(answer.json())

    def watch(self, watch_id: int) -> dict[str, Any]:
        """The watch and its series: one row per file."""
        return dict(self.get(f"/api/v1/watches/{watch_id}"))

    def watches(self, project: str | None = None) -> dict[str, Any]:
        return dict(self.get("/api/v1/watches", project=project))

    def jobs(self, **filters: Any) -> dict[str, Any]:
        return dict(self.get("/api/v1/jobs", **filters))

    def cancel(self, job_id: int) -> dict[str, Any]:
        return dict(self.request("POST", f"/api/v1/jobs/{job_id}/cancel").json())

    def download(self, url: str, target: Path) -> Path:
        """Save the file at ``url`` (an artifact URL of the API) as ``target``."""
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.part")
        partial.write_bytes(self.request("GET", url).content)
        partial.replace(target)
        return target

    def events(self, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """The (kind, data) events of an SSE stream until it ends; reconnects after a dropped
        connection, resuming after the last stored event seen."""
        last_id: str | None = None
        deadline = time.monotonic() + self.retry_for
        while True:
            headers = {"Last-Event-ID": last_id} if last_id else {}
            try:
                with self.http.stream("GET", path, headers=headers, timeout=STREAM_TIMEOUT) as r:
                    if r.status_code not in RETRY_STATUS:
                        checked(r, streaming=True)
                        for kind, data, event_id in parse_sse(r.iter_lines()):
                            last_id = event_id or last_id
                            deadline = time.monotonic() + self.retry_for
                            yield kind, data
                            if kind == "end":
                                return
            except httpx.TransportError as error:
                if time.monotonic() > deadline:
                    raise ClientError(f"lost the event stream from {self.config.server}: {error}") from None
            if time.monotonic() > deadline:
                raise ClientError(f"the event stream from {self.config.server} ended before the job did")
            time.sleep(0.5)


def parse_sse(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any], str | None]]:
    """(event kind, JSON data, id) of each event in the lines of an SSE stream."""
    kind, data, event_id = "message", "", None
    for line in lines:
        if not line:
            if data:
                yield kind, json.loads(data), event_id
            kind, data, event_id = "message", "", None
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                kind = value
            elif field == "data":
                data = f"{data}\n{value}" if data else value
            elif field == "id":
                event_id = value


def checked(response: httpx.Response, *, streaming: bool = False) -> httpx.Response:
    """``response`` if it succeeded, else :class:`ClientError` with the server's ``detail``."""
    if response.status_code < 400:
        return response
    if streaming:
        response.read()
    try:
        detail = response.json().get("detail", response.text)
    except (json.JSONDecodeError, AttributeError):
        detail = response.text or response.reason_phrase
    raise ClientError(f"{detail} (HTTP {response.status_code})", response.status_code)
