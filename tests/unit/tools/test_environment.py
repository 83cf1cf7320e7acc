"""The scrubbed environment (issue 15, "Secrets"), as the function returns it and as a real
``bash`` call and a real language server process see it."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

from codetap.pool.client import LspClient
from codetap.pool.errors import ServerCrashed
from codetap.pool.specs import default_specs
from codetap.tools.base import ToolContext, run_tool
from codetap.tools.bash import BashTool
from codetap.tools.environment import ALLOWED, looks_secret, scrubbed_env
from codetap.tools.sandbox import SandboxSettings, probe

SECRETS = {
    "FAKE_API_KEY": "sk-fake-0001",
    "OPENAI_API_KEY": "sk-openai-0002",
    "ANTHROPIC_API_KEY": "sk-ant-0003",
    "GITHUB_TOKEN": "ghp_fake0004",
    "DB_PASSWORD": "hunter2-0005",
    "AWS_SECRET_ACCESS_KEY": "aws-0006",
    "npm_config__auth": "npm-0007",
    "DATABASE_URL": "postgres://app:pw-0008@db.internal/app",
}
ORDINARY = {"PATH": "/usr/bin:/bin", "HOME": "/home/u", "LANG": "C.UTF-8", "LC_ALL": "C",
            "GOFLAGS": "-mod=mod", "TERM": "xterm"}
DAEMON_ONLY = {"XDG_DATA_HOME": "/home/u/.local/share", "PYTHONPATH": "/opt/codetap",
               "CODETAP_INTERNAL": "1", "https_proxy": "http://proxy:3128"}
BASE = {**SECRETS, **ORDINARY, **DAEMON_ONLY, "MYAPP_MODE": "test", "MYAPP_DEBUG": "1"}
SANDBOX_MODES = [
    pytest.param("off", id="unsandboxed"),
    pytest.param("auto", id="sandboxed", marks=pytest.mark.skipif(
        not probe().works, reason=f"bubblewrap cannot run here: {probe().reason}")),
]


def test_allowlist_keeps_ordinary_variables_only() -> None:
    assert scrubbed_env(base=BASE) == ORDINARY


def test_exact_passthrough_lets_a_credential_through_a_glob_does_not() -> None:
    env = scrubbed_env(["FAKE_API_KEY", "MYAPP_*", "*KEY*", "*", "DATABASE_*"], base=BASE)
    assert env["FAKE_API_KEY"] == SECRETS["FAKE_API_KEY"]
    assert env["MYAPP_MODE"] == "test" and env["MYAPP_DEBUG"] == "1"
    assert env["CODETAP_INTERNAL"] == "1"  # "*" passes everything that is not a secret
    assert not set(SECRETS) - {"FAKE_API_KEY"} & set(env)


def test_secret_looking_names_and_values() -> None:
    for name in SECRETS:
        assert looks_secret(name, BASE[name]), name
    assert looks_secret("slack_webhook_secret") and looks_secret("GH_AUTH")
    assert looks_secret("MIRROR", "https://user:tok@git.example/x.git")
    for name in ("PATH", "HOME", "MYAPP_MODE", "GOFLAGS", "TERM"):
        assert not looks_secret(name, BASE.get(name, "")), name
    assert not looks_secret("REPO", "https://git.example/x.git")
    assert not [n for n in ALLOWED if looks_secret(n)]


@pytest.fixture
def secret_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**SECRETS, "MYAPP_MODE": "test"}.items():
        monkeypatch.setenv(name, value)


async def env_seen_by_bash(ctx: ToolContext) -> dict[str, str]:
    result = await run_tool(BashTool(), {"command": "env -0 | base64 -w0"}, ctx)
    assert result.meta["exit_code"] == 0, result.output
    raw = base64.b64decode(result.output.splitlines()[0]).decode()
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


@pytest.mark.parametrize("mode", SANDBOX_MODES)
@pytest.mark.usefixtures("secret_environ")
async def test_bash_sees_no_secret(ctx: ToolContext, mode: str) -> None:
    ctx.sandbox = SandboxSettings(mode=mode)  # type: ignore[arg-type]
    seen = await env_seen_by_bash(ctx)
    assert not set(SECRETS) & set(seen)
    dump = json.dumps(seen)
    assert not [v for v in SECRETS.values() if v in dump]
    assert "MYAPP_MODE" not in seen and seen["PAGER"] == "cat" and "PATH" in seen


@pytest.mark.parametrize("mode", SANDBOX_MODES)
@pytest.mark.usefixtures("secret_environ")
async def test_bash_passthrough_by_exact_name_only(ctx: ToolContext, mode: str) -> None:
    ctx.sandbox = SandboxSettings(mode=mode)  # type: ignore[arg-type]
    ctx.env_passthrough = ("FAKE_API_KEY", "*_API_KEY", "GITHUB_*", "MYAPP_*")
    seen = await env_seen_by_bash(ctx)
    assert seen["FAKE_API_KEY"] == SECRETS["FAKE_API_KEY"]
    assert seen["MYAPP_MODE"] == "test"
    assert not (set(SECRETS) - {"FAKE_API_KEY"}) & set(seen)


@pytest.mark.usefixtures("secret_environ")
async def test_language_server_gets_the_scrubbed_environment(tmp_path: Path) -> None:
    """A server process that records its environment and exits: the start fails, the
    record shows what it was given."""
    out = tmp_path / "server-env.json"
    script = f"import json, os; open({str(out)!r}, 'w').write(json.dumps(dict(os.environ)))"
    spec = default_specs()[0]
    client = LspClient(spec, tmp_path, [sys.executable, "-c", script],
                       env_passthrough=("OPENAI_API_KEY", "MYAPP_*", "*TOKEN*"))
    with pytest.raises(ServerCrashed):
        await client.start(timeout_s=10)
    seen = json.loads(out.read_text())
    assert seen["OPENAI_API_KEY"] == SECRETS["OPENAI_API_KEY"]
    assert seen["MYAPP_MODE"] == "test" and "PATH" in seen
    assert not (set(SECRETS) - {"OPENAI_API_KEY"}) & set(seen)
    for name, value in spec.env.items():
        assert seen[name] == value
