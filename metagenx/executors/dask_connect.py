"""Connecting to a Dask scheduler: reachability, then versions of every node, with errors a person can act on.

A controller and its Dask workers exchange pickled functions and results, so Python, Dask
and metagenx must match on every node, and every worker needs GenX. :func:`connect`
checks this once per connection; :func:`version_problems` is the pure comparison.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping
from typing import Any

from metagenx.errors import MetagenxError

MATCHING_PACKAGES = ("dask", "distributed", "cloudpickle", "msgpack", "tornado", "toolz", "metagenx")
"""Packages whose versions must be identical on the controller and every worker."""

SCHEDULER_PACKAGES = ("dask", "distributed", "cloudpickle", "tornado", "toolz")
"""Packages the scheduler must share with the controller (it never imports metagenx)."""

GENX_PACKAGE = "genx3server"


class ExecutorUnavailableError(MetagenxError):
    """The executor cannot run fits: its scheduler is unreachable or was lost for too long."""


class VersionMismatchError(MetagenxError):
    """The controller and the Dask cluster run different versions of Python, Dask, metagenx or GenX."""


def check_reachable(address: str, timeout: float) -> None:
    """Raise :class:`ExecutorUnavailableError` unless something accepts TCP connections at ``address``.

    ``address`` is ``tcp://HOST:PORT`` or ``tls://HOST:PORT`` (other schemes are not checked);
    ``timeout`` is in seconds.
    """
    scheme, _, rest = address.rpartition("://")
    if scheme not in ("", "tcp", "tls"):
        return
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        raise ExecutorUnavailableError(
            f"{address!r} is not a Dask scheduler address; expected tcp://HOST:PORT (e.g. tcp://127.0.0.1:8786)"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except TimeoutError:
        raise ExecutorUnavailableError(
            f"cannot reach the Dask scheduler at {address}: no answer within {timeout:g} s"
            " (is the host up, and is the port open in its firewall?)"
        ) from None
    except OSError as exc:
        why = "nothing listens on that port" if isinstance(exc, ConnectionRefusedError) else exc.strerror
        raise ExecutorUnavailableError(
            f"cannot reach the Dask scheduler at {address}: {why or exc}"
            " (start one with `metagenx cluster local` or `dask scheduler`)"
        ) from None


def probe(address: str, timeout: float, security: Any = None) -> dict[str, Any]:
    """The identity of the Dask server at ``address`` (a Dask handshake and one request), within
    ``timeout`` s, or :class:`ExecutorUnavailableError`. Guards against a port that accepts the
    connection but never speaks Dask, where ``distributed.Client`` waits forever."""
    import asyncio

    from distributed.comm import core

    connect: Any = core.connect

    from distributed import security as dask_security

    default: Any = dask_security.Security  # its defaults come from Dask's config (e.g. DASK_* variables)
    arguments = (security or default()).get_connection_args("client")

    async def ask() -> Any:
        comm = await connect(address, timeout=timeout, **arguments)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    async def bounded() -> Any:
        return await asyncio.wait_for(ask(), timeout)

    answer: list[Any] = []
    failure: list[BaseException] = []

    def run() -> None:  # in its own thread: the caller may be inside an event loop
        try:
            answer.append(asyncio.run(bounded()))
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name="metagenx-dask-probe", daemon=True)
    thread.start()
    thread.join(timeout + 5.0)
    if not answer:
        why = f"no Dask answer within {timeout:g} s"
        if failure and not isinstance(failure[0], TimeoutError):
            why = f"{type(failure[0]).__name__}: {failure[0]}"
        raise ExecutorUnavailableError(
            f"cannot connect to the Dask scheduler at {address}: {why}"
            " (is it a Dask scheduler of this Dask version, with the same TLS settings?)"
        )
    if not isinstance(answer[0], dict) or answer[0].get("type") != "Scheduler":
        raise ExecutorUnavailableError(f"{address} is not a Dask scheduler (it answered {answer[0]!r:.100})")
    return answer[0]


def open_client(address: str, timeout: float, security: Any = None) -> Any:
    """A connected :class:`distributed.Client`, or :class:`ExecutorUnavailableError` within ~``timeout`` s."""
    import distributed

    check_reachable(address, timeout)
    probe(address, timeout, security)
    client_class: Any = distributed.Client
    try:
        client = client_class(address, timeout=timeout, set_as_default=False, security=security)
    except (OSError, ValueError) as exc:
        message = str(exc)
    else:
        return client
    raise ExecutorUnavailableError(f"cannot connect to the Dask scheduler at {address}: {message}")


def cluster_versions(client: Any) -> dict[str, Any]:
    """``{"controller": {...}, "scheduler": {...}, "workers": {address: {...}}}``: package versions
    (``python`` as ``major.minor.micro``, None where a package is missing) of every node."""
    versions = client.get_versions(packages=["metagenx", GENX_PACKAGE])
    return {
        "controller": versions["client"]["packages"],
        "scheduler": versions["scheduler"]["packages"],
        "workers": {address: info["packages"] for address, info in versions["workers"].items() if info},
    }


def version_problems(
    controller: Mapping[str, str | None],
    scheduler: Mapping[str, str | None],
    workers: Mapping[str, Mapping[str, str | None]],
) -> list[str]:
    """One line per mismatch between the controller and the scheduler or a worker, or per missing GenX."""
    problems = []

    def python(versions: Mapping[str, str | None]) -> str:
        return ".".join(str(versions.get("python") or "?").split(".")[:2])

    if python(scheduler) != python(controller):
        problems.append(f"Python {python(controller)} here, {python(scheduler)} on the scheduler")
    for name in SCHEDULER_PACKAGES:
        if scheduler.get(name) != controller.get(name):
            problems.append(f"{name} {controller.get(name)} here, {scheduler.get(name)} on the scheduler")
    for address, versions in sorted(workers.items()):
        if python(versions) != python(controller):
            problems.append(f"Python {python(controller)} here, {python(versions)} on worker {address}")
        for name in MATCHING_PACKAGES:
            theirs = versions.get(name)
            if theirs != controller.get(name):
                shown = "not installed" if theirs is None else theirs
                problems.append(f"{name} {controller.get(name)} here, {shown} on worker {address}")
        if versions.get(GENX_PACKAGE) is None:
            problems.append(f"GenX ({GENX_PACKAGE}) is not installed on worker {address}")
        elif versions.get(GENX_PACKAGE) != controller.get(GENX_PACKAGE):
            problems.append(
                f"{GENX_PACKAGE} {controller.get(GENX_PACKAGE)} here,"
                f" {versions.get(GENX_PACKAGE)} on worker {address} (fits would not be reproducible)"
            )
    return problems


def check_versions(client: Any, address: str) -> None:
    """Raise :class:`VersionMismatchError` listing every mismatch between this process and the cluster."""
    versions = cluster_versions(client)
    problems = version_problems(versions["controller"], versions["scheduler"], versions["workers"])
    if problems:
        listing = "\n".join(f"  - {line}" for line in problems)
        raise VersionMismatchError(
            f"the Dask cluster at {address} does not match this metagenx installation:\n{listing}\n"
            "Install the same versions everywhere (e.g. the same `pip install metagenx==...` in one"
            " environment used by the controller, the scheduler and the workers)."
        )
