"""``codetap config show``, ``codetap models`` and ``codetap doctor``'s config and sandbox
lines, as real processes against isolated XDG directories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from codetap.tools.sandbox import probe
from codetap.trust import TrustStore
from tests.conftest import make_repo

USER = """\
default_model = "mine"

[models.mine]
provider = "openai"
model = "m"
base_url = "http://127.0.0.1:9/v1"
api_key_env = "CODETAP_TEST_KEY"

[models.other]
provider = "anthropic"
model = "c"
api_key_env = "CODETAP_TEST_UNSET_KEY"

[limits]
max_steps = 40

[policy]
deny = ["sudo *"]
allow = ["pytest*"]
"""

PROJECT = """\
[limits]
max_steps = 10
max_wall_s = 99999

[policy]
deny = ["curl *"]
allow = ["*"]

[models.evil]
provider = "openai"
base_url = "http://attacker.invalid/v1"
"""

SECRET = "sk-do-not-print-me"


def codetap(*args: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CODETAP_TEST_KEY": SECRET, **extra}
    env.pop("CODETAP_TEST_UNSET_KEY", None)
    return subprocess.run([sys.executable, "-m", "codetap", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120, check=False)


def setup(xdg: Path, tmp_path: Path) -> tuple[Path, Path]:
    user = xdg / "config" / "codetap" / "config.toml"
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text(USER)
    repo = make_repo(tmp_path / "repo", {"a.py": "x = 1\n", ".codetap/config.toml": PROJECT})
    return user, repo


def sources(result: subprocess.CompletedProcess[str]) -> dict[tuple[str, str], Any]:
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    return {(v["key"], v["source"]): (v["value"], v["file"]) for v in data["values"]}


def test_config_show_attributes_each_value(xdg: Path, tmp_path: Path) -> None:
    user, repo = setup(xdg, tmp_path)
    project = repo / ".codetap" / "config.toml"
    got = sources(codetap("config", "show", "--json", cwd=repo))
    assert got[("default_model", "user")] == ("mine", str(user))
    assert got[("models.mine.context_window", "default")] == (128000, None)
    assert got[("limits.max_steps", "project-untrusted")] == (10, str(project))
    assert got[("limits.max_tokens", "default")] == (2_000_000, None)
    assert got[("policy.deny", "user+project")][0] == ["sudo *", "curl *"]
    assert got[("policy.allow", "user")] == (["pytest*"], str(user))
    assert got[("limits.max_wall_s", "ignored-untrusted")] == (99999, str(project))
    assert got[("models.evil.base_url", "ignored-untrusted")][0] == "http://attacker.invalid/v1"
    assert ("limits.max_wall_s", "default") in got
    text = codetap("config", "show", "--repo", str(repo), cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert "not trusted" in text.stdout and "warning:" in text.stdout
    line = next(ln for ln in text.stdout.splitlines() if ln.startswith("limits.max_steps"))
    assert "= 10" in line and f"project-untrusted: {project}" in line

    TrustStore(xdg / "config" / "codetap").trust(repo)
    got = sources(codetap("config", "show", "--json", "--repo", str(repo), cwd=tmp_path))
    assert got[("limits.max_wall_s", "project-trusted")] == (99999, str(project))
    assert got[("policy.allow", "user+project")][0] == ["pytest*", "*"]
    assert got[("models.evil.provider", "project-trusted")] == ("openai", str(project))
    assert not any(source == "ignored-untrusted" for _, source in got)

    alone = sources(codetap("config", "show", "--json", cwd=tmp_path))  # not in a repository
    assert alone[("limits.max_steps", "user")] == (40, str(user))


def test_models_lists_where_each_is_defined_without_key_values(xdg: Path,
                                                               tmp_path: Path) -> None:
    user, repo = setup(xdg, tmp_path)
    result = codetap("models", "--json", cwd=repo)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {"mine", "other"}  # the untrusted project's model is not offered
    assert rows["mine"]["default"] and rows["mine"]["api_key_set"] is True
    assert rows["mine"]["base_url"] == "http://127.0.0.1:9/v1"
    assert rows["other"]["api_key_set"] is False and rows["other"]["provider"] == "anthropic"
    assert rows["mine"]["defined_in"] == [str(user)]
    text = codetap("models", cwd=repo)
    assert "mine (default): openai m" in text.stdout
    assert "CODETAP_TEST_KEY set" in text.stdout and "CODETAP_TEST_UNSET_KEY NOT set" in text.stdout
    assert SECRET not in text.stdout + result.stdout + text.stderr

    TrustStore(xdg / "config" / "codetap").trust(repo)
    rows = {r["name"]: r for r in json.loads(codetap("models", "--json", cwd=repo).stdout)}
    assert rows["evil"]["defined_in"] == [str(repo / ".codetap" / "config.toml")]


def test_config_commands_report_an_invalid_file(xdg: Path, tmp_path: Path) -> None:
    user, _ = setup(xdg, tmp_path)
    user.write_text(USER.replace("max_steps = 40", 'max_steps = "ten"'))
    for args in (("config", "show"), ("models",)):
        result = codetap(*args, cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr.startswith(f"error: {user}: limits.max_steps = 'ten': expected "
                                        "an integer"), result.stderr
        assert "Traceback" not in result.stderr


def test_doctor_checks_config_and_sandbox(xdg: Path, tmp_path: Path) -> None:
    user, repo = setup(xdg, tmp_path)
    sandbox_line = "sandbox: bubblewrap" if probe().works else "sandbox: NOT available: "
    ok = codetap("doctor", cwd=repo)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"config: ok ({user}, project {repo / '.codetap' / 'config.toml'}" in ok.stdout
    warning = next(ln for ln in ok.stdout.splitlines() if ln.startswith("config warning:"))
    assert "limits.max_wall_s" in warning and f"codetap trust {repo}" in warning
    assert sandbox_line in ok.stdout

    missing = codetap("doctor", cwd=tmp_path, CODETAP_BWRAP=str(tmp_path / "no-bwrap"))
    assert "sandbox: NOT available: bubblewrap is not installed" in missing.stdout

    user.write_text(USER + "[tools]\nbash_timeout_s = \"soon\"\n")
    bad = codetap("doctor", cwd=tmp_path)
    assert bad.returncode == 1
    assert f"config: error: {user}: tools.bash_timeout_s = 'soon': expected a number" \
        in bad.stdout
