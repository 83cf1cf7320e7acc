"""``[sandbox]`` settings, the probe, and what ``mode`` does when bubblewrap cannot run.

"Cannot run" is real, not simulated in our code: ``CODETAP_BWRAP`` names a program that
does not exist, or a program that exits non-zero, and :func:`probe` runs it.
"""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from codetap.errors import ConfigError
from codetap.tools.base import ToolContext, run_tool
from codetap.tools.bash import BashTool
from codetap.tools.bash_launch import reset_warnings
from codetap.tools.sandbox import BWRAP_ENV, SandboxSettings, describe, probe

WHERE = "/home/u/.config/codetap/config.toml"


def test_from_toml_reads_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/u")
    settings = SandboxSettings.from_toml({
        "mode": "required", "network": "on", "read_paths": ["~/.cargo", "/opt/sdk/"],
        "write_paths": ["~/.cache/go-build"], "max_processes": 200, "memory_mb": 2048,
    }, WHERE)
    assert settings == SandboxSettings(
        "required", "on", ("/home/u/.cargo", "/opt/sdk"), ("/home/u/.cache/go-build",), 200,
        2048)
    assert SandboxSettings.from_toml({}, WHERE) == SandboxSettings()


@pytest.mark.parametrize(("table", "message"), [
    ([], "[sandbox] must be a table"),
    ({"mdoe": "off"}, "unknown [sandbox] keys: mdoe"),
    ({"mode": "strict"}, "[sandbox] mode = 'strict': expected one of 'off', 'auto'"),
    ({"network": True}, "[sandbox] network = True: expected one of 'off', 'on'"),
    ({"read_paths": "~/.cargo"}, "[sandbox] read_paths must be a list of non-empty strings"),
    ({"write_paths": ["build"]}, "[sandbox] write_paths: 'build' must be absolute"),
    ({"max_processes": 0}, "[sandbox] max_processes = 0: expected an integer >= 1"),
    ({"max_processes": "50"}, "[sandbox] max_processes = '50'"),
    ({"memory_mb": True}, "[sandbox] memory_mb = True"),
])
def test_from_toml_errors_name_file_and_key(table: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        SandboxSettings.from_toml(table, WHERE)
    assert str(info.value).startswith(f"{WHERE}: ") and message in str(info.value)


def test_project_may_only_tighten() -> None:
    user = SandboxSettings("auto", "on", ("/home/u/.cargo", "/home/u/.rustup"),
                           ("/home/u/.cache",), 500, None)
    tighter, ignored = user.tightened({
        "mode": "required", "network": "off", "read_paths": ["/home/u/.cargo"],
        "write_paths": [], "max_processes": 100, "memory_mb": 1024}, "proj")
    assert ignored == []
    assert tighter == SandboxSettings("required", "off", ("/home/u/.cargo",), (), 100, 1024)
    looser, ignored = tighter.tightened({
        "mode": "off", "network": "on", "read_paths": ["/home/u/.cargo", "/home/u/.ssh"],
        "write_paths": ["/home/u"], "max_processes": 100000, "memory_mb": 4096}, "proj")
    assert looser == tighter
    assert ignored == ["sandbox.mode", "sandbox.network", "sandbox.read_paths",
                       "sandbox.write_paths", "sandbox.max_processes", "sandbox.memory_mb"]


def test_project_mode_order_off_auto_required() -> None:
    off = SandboxSettings(mode="off")
    assert off.tightened({"mode": "auto"}, "p") == (SandboxSettings(mode="auto"), [])
    required = SandboxSettings(mode="required")
    assert required.tightened({"mode": "auto"}, "p") == (required, ["sandbox.mode"])
    with pytest.raises(ConfigError, match="p: unknown \\[sandbox\\] keys: bogus"):
        required.tightened({"bogus": 1}, "p")


def fake_bwrap(tmp_path: Path, body: str) -> str:
    path = tmp_path / "bwrap-fake"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_probe_reports_why_it_cannot_run(tmp_path: Path) -> None:
    missing = probe(str(tmp_path / "no-such-bwrap"))
    assert not missing.works and "apt-get install bubblewrap" in missing.reason
    assert "NOT available" in describe(missing) and "apt-get install bubblewrap" in describe(
        missing)
    refusing = probe(fake_bwrap(tmp_path, "echo 'bwrap: No permissions to create new "
                                          "namespace' >&2; exit 1"))
    assert not refusing.works and "user namespaces" in refusing.reason
    assert "No permissions to create new namespace" in refusing.reason


@pytest.mark.skipif(not probe().works, reason=f"bubblewrap cannot run here: {probe().reason}")
def test_probe_and_describe_when_it_works() -> None:
    status = probe()
    assert status.works and status.bwrap and status.version
    assert describe(status).startswith("sandbox: bubblewrap ") and "process limit" in describe()


async def test_required_refuses_to_run_without_a_sandbox(
        workspace: Path, ctx: ToolContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BWRAP_ENV, str(workspace.parent / "no-such-bwrap"))
    ctx.sandbox = SandboxSettings(mode="required")
    result = await run_tool(BashTool(), {"command": "touch ran"}, ctx)
    assert result.is_error
    assert result.output.startswith('error: not run: [sandbox] mode = "required" but '
                                    "bubblewrap cannot run here: bubblewrap is not installed")
    assert not (workspace / "ran").exists()


async def test_auto_without_a_sandbox_runs_and_says_so(
        workspace: Path, ctx: ToolContext, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(BWRAP_ENV, fake_bwrap(workspace.parent, "exit 1"))
    reset_warnings()
    caplog.set_level(logging.WARNING, logger="codetap.tools.bash_launch")
    first = await run_tool(BashTool(), {"command": "touch ran; echo hi"}, ctx)
    second = await run_tool(BashTool(), {"command": "echo again"}, ctx)
    assert (workspace / "ran").exists()
    assert first.meta["sandboxed"] is False and second.meta["sandboxed"] is False
    assert first.output.startswith("hi\n[exit code 0]\n[sandbox: not available here")
    assert second.output == "again\n[exit code 0]"
    warnings = [r for r in caplog.records if "WITHOUT a sandbox" in r.getMessage()]
    assert len(warnings) == 1 and "bubblewrap failed" in warnings[0].getMessage()


async def test_off_runs_unsandboxed_even_without_bwrap(ctx: ToolContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BWRAP_ENV, "/nonexistent/bwrap")
    ctx.sandbox = SandboxSettings(mode="off")
    result = await run_tool(BashTool(), {"command": "echo plain"}, ctx)
    assert result.output == "plain\n[exit code 0]" and result.meta["sandboxed"] is False
