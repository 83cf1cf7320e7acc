"""The daemon picks up the user's config at each task start, without a restart."""

from __future__ import annotations

from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException
from tests.e2e.conftest import Editor, Env, session_lines, write_config


async def test_model_added_while_the_daemon_runs_is_known(env: Env, editor: Editor,
                                                          tmp_path: Path, xdg: Path) -> None:
    first = await editor.request("codetap/task/start",
                                 {"intent": "fix add", "root_uri": env.root_uri})
    await editor.wait_state(first["id"], "ready")
    with pytest.raises(JsonRpcException, match="unknown model 'late'"):
        await editor.request("codetap/task/start", {"intent": "x", "root_uri": env.root_uri,
                                                    "model": "late"})
    write_config(xdg, tmp_path, {"fast": session_lines(0), "late": session_lines(0)})
    late = await editor.request("codetap/task/start", {"intent": "fix add again",
                                                       "root_uri": env.root_uri,
                                                       "model": "late"})
    await editor.wait_state(late["id"], "ready")

    config = xdg / "config" / "codetap" / "config.toml"
    good = config.read_text()
    config.write_text(good + "\n[limits]\nmax_steps = \"ten\"\n")
    with pytest.raises(JsonRpcException, match=r"limits\.max_steps"):
        await editor.request("codetap/task/start", {"intent": "x", "root_uri": env.root_uri})
    config.write_text(good)
    fixed = await editor.request("codetap/task/start", {"intent": "fix add once more",
                                                        "root_uri": env.root_uri})
    await editor.wait_state(fixed["id"], "ready")
