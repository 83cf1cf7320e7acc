"""What the user sees of context management: a real compacting, verified task run with the
`codetap` CLI against its daemon. ``run`` and ``follow`` show ``compaction``,
``verification``, ``system_prompt`` and ``warning`` entries as one readable line each;
``log`` prints them as JSON lines."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from codetap.daemon.control import stop
from codetap.daemon.paths import DaemonPaths
from tests.unit.agent.test_compaction import MAX_OUT, ROOT, WINDOW, repo_for
from tests.unit.models.context_server import ContextModel
from tests.unit.models.scripted_server import ScriptedServer

TURNS = 40


def user_config(xdg: Path, url: str) -> None:
    cfg = xdg / "config" / "codetap"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "config.toml").write_text(
        'default_model = "ctx"\n[models.ctx]\nprovider = "openai"\nmodel = "m"\n'
        f'base_url = "{url}/v1"\ncontext_window = {WINDOW}\n'
        f"max_output_tokens = {MAX_OUT}\nmax_retries = 0\ntimeout_s = 20\n"
        '[verify]\ncommand = "test -f out/f0.txt"\n')


async def codetap(repo: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "codetap", *args, cwd=repo,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def check_lines(output: str) -> None:
    lines = output.splitlines()
    compactions = [ln for ln in lines if ln.startswith("context compacted (")]
    assert any(ln.startswith("context compacted (mask): ~") and " tokens; " in ln
               and "tool results masked" in ln for ln in compactions), compactions
    assert any(ln.startswith("context compacted (summary)") and "summarized by ctx (" in ln
               for ln in compactions), compactions
    assert any(ln.startswith("context: summarizing the older conversation with ctx (~")
               for ln in lines)
    assert "verify (round 1): `test -f out/f0.txt` passed" in lines
    prompt = [ln for ln in lines if ln.startswith("system prompt: ")]
    assert len(prompt) == 1 and " chars (instructions: " in prompt[0], prompt
    warnings = [ln for ln in lines if ln.startswith("warning: ")]
    assert len(warnings) == 1 and "verify.command" in warnings[0], warnings
    assert not any(ln.startswith("{") for ln in lines)  # no raw JSON


async def test_run_follow_and_log_show_context_entries(xdg: Path, tmp_path: Path) -> None:
    repo = repo_for(tmp_path / "repo", TURNS)
    # An untrusted project file: its [verify] command is ignored, with a warning.
    (repo / ".codetap").mkdir()
    (repo / ".codetap" / "config.toml").write_text('[verify]\ncommand = "false"\n')
    model = ContextModel(WINDOW, TURNS)
    try:
        async with ScriptedServer([], handler=model) as server:
            user_config(xdg, server.url)
            code, out, err = await codetap(repo, "run", "read it all")
            assert code == 0, out[-3000:] + err[-3000:]
            assert "task 1: ready" in out and "Traceback" not in err, err
            check_lines(out)
            code, followed, err = await codetap(repo, "follow", "1")
            assert code == 0, err
            check_lines(followed)
            code, log, err = await codetap(repo, "log", "1")
            assert code == 0, err
    finally:
        stop(DaemonPaths.from_env(dict(os.environ)))
    entries = [json.loads(ln) for ln in log.splitlines()]
    kinds = {e["kind"] for e in entries}
    assert {"compaction", "verification", "system_prompt", "warning"} <= kinds, kinds
    layers = {e["data"]["layer"] for e in entries if e["kind"] == "compaction"}
    assert layers == {"mask", "summary", "summary_started"}
    assert model.summaries >= 1
