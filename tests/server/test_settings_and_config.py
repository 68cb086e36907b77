"""One settings object from flags or ``METAGENX_*``; the client's server and token from args, env or file."""

from __future__ import annotations

from pathlib import Path

import pytest

from metagenx.cli import main
from metagenx.client import DEFAULT_SERVER, ApiClient, ClientConfig, ClientError
from metagenx.server import Settings


def test_settings_come_from_the_environment_and_arguments_win(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("METAGENX_PORT", "9001")
    monkeypatch.setenv("METAGENX_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("METAGENX_MAX_UPLOAD_MB", "2.5")
    monkeypatch.setenv("METAGENX_MAX_RUNNING_PER_USER", "3")
    settings = Settings()
    assert (settings.port, settings.data_dir, settings.max_upload_bytes) == (9001, tmp_path, int(2.5 * 2**20))
    assert settings.max_running_per_user == 3 and settings.uploads_dir == tmp_path / "uploads"
    assert Settings(port=8123).port == 8123
    monkeypatch.setenv("METAGENX_PORT", "not a port")
    with pytest.raises(ValueError, match="port"):
        Settings()


def test_client_config_arguments_then_environment_then_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "client.toml"
    monkeypatch.setenv("METAGENX_CLIENT_CONFIG", str(config))
    monkeypatch.delenv("METAGENX_SERVER", raising=False)
    monkeypatch.delenv("METAGENX_TOKEN", raising=False)
    assert ClientConfig.resolve() == ClientConfig(DEFAULT_SERVER, None)
    with pytest.raises(ClientError, match="no token"):
        ApiClient(ClientConfig.resolve())
    config.write_text('server = "http://beamline:8000/"\ntoken = "mgx_file"\n')
    assert ClientConfig.resolve() == ClientConfig("http://beamline:8000", "mgx_file")
    monkeypatch.setenv("METAGENX_TOKEN", "mgx_env")
    assert ClientConfig.resolve().token == "mgx_env"
    assert ClientConfig.resolve("http://other:1", "mgx_arg") == ClientConfig("http://other:1", "mgx_arg")
    config.write_text("server = [")
    with pytest.raises(ClientError, match="cannot read the client config"):
        ClientConfig.resolve()


def run(*args: str) -> int:
    """Run the CLI in this process; its exit status."""
    try:
        main(list(args))
    except SystemExit as stopped:
        return int(stopped.code or 0)
    return 0


def test_account_commands_explain_their_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    where = ("--data-dir", str(tmp_path))
    assert run("user", "add", "alice", "--admin", *where) == 0
    assert run("token", "create", "alice", *where) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("mgx_")
    assert run("user", "add", "alice", *where) != 0
    assert "exists already" in capsys.readouterr().err
    assert run("token", "create", "carol", *where) != 0
    assert "metagenx user add carol" in capsys.readouterr().err
    assert run("user", "list", *where) == 0
    assert "alice (admin)" in capsys.readouterr().out
    assert run("token", "revoke", "alice", *where) == 0
    assert "revoked 1 token(s)" in capsys.readouterr().out


def test_client_commands_say_when_the_server_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("metagenx.client.RETRY_FOR", 0.5)
    assert run("status", "--server", "http://127.0.0.1:9", "--token", "mgx_x_y") != 0
    assert "cannot reach the server http://127.0.0.1:9" in capsys.readouterr().err
