"""The options of every command that talks to a server: ``--server`` and ``--token``, and the client.

Server and token: ``--server``/``--token``, else ``METAGENX_SERVER``/``METAGENX_TOKEN``,
else the client config file (see :mod:`metagenx.client`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from metagenx.client import ApiClient

Server = Annotated[
    str | None,
    typer.Option("--server", help="Server URL [env METAGENX_SERVER; config file; http://127.0.0.1:8000]."),
]
Token = Annotated[str | None, typer.Option("--token", help="Bearer token [env METAGENX_TOKEN; config file].")]


def connect(server: str | None, token: str | None) -> ApiClient:
    """A client of the server (httpx is imported only by the commands that talk to one)."""
    from metagenx.client import ApiClient, ClientConfig

    return ApiClient(ClientConfig.resolve(server, token))
