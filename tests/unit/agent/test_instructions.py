"""Layered instructions, environment facts and the journaled system prompt."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

from codetap.agent.instructions import gather
from codetap.config import Config
from codetap.models.base import ModelConfig
from codetap.runtime import Runtime
from codetap.store import Event
from codetap.types import TaskState
from tests.conftest import git, make_repo
from tests.unit.agent.test_task_run import session

LAYERS = {
    "AGENTS.md": "root agents",
    "CLAUDE.md": "root claude",
    ".claude/CLAUDE.md": "root dot-claude",
    ".claude/rules/b.md": "root rule b",
    ".claude/rules/a.md": "root rule a",
    ".codetap/instructions.md": "root codetap",
    ".codetap/rules/z.md": "root codetap rule",
    "pkg/AGENTS.md": "pkg agents",
    "pkg/sub/.codetap/instructions.md": "sub codetap",
    "other/AGENTS.md": "other agents (not on the scope's path)",
}
LOCAL = {"AGENTS.local.md": "root local agents", "pkg/CLAUDE.local.md": "pkg local claude"}
ORDER = [".claude/CLAUDE.md", ".claude/rules/a.md", ".claude/rules/b.md"]


def write(base: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text(text + "\n")


def test_every_layer_in_precedence_order(tmp_path: Path) -> None:
    repo, user = tmp_path / "repo", tmp_path / "config" / "instructions.md"
    write(repo, {**LAYERS, **LOCAL})
    write(user.parent, {"instructions.md": "user wide"})
    found = gather(repo, "pkg/sub", user_file=user)
    assert found.sources == [
        str(user),
        "AGENTS.md", "CLAUDE.md", *ORDER, ".codetap/instructions.md", ".codetap/rules/z.md",
        "pkg/AGENTS.md",
        "pkg/sub/.codetap/instructions.md",
        "AGENTS.local.md", "pkg/CLAUDE.local.md",
    ]
    text = found.render()
    positions = [text.index(f'<instructions source="{s}">') for s in found.sources]
    assert positions == sorted(positions)
    assert "later one takes precedence" in text
    assert "other agents" not in text and found.cuts == ()


def test_scope_walk_stops_at_the_scope_and_root_only_without_one(tmp_path: Path) -> None:
    write(tmp_path, LAYERS)
    none = tmp_path / "no-user-file.md"
    assert "pkg/AGENTS.md" not in gather(tmp_path, None, user_file=none).sources
    assert gather(tmp_path, "pkg", user_file=none).sources[-1] == "pkg/AGENTS.md"
    assert gather(tmp_path, "../elsewhere", user_file=none).sources[-1] == ".codetap/rules/z.md"


def test_local_files_come_from_the_users_checkout(tmp_path: Path) -> None:
    worktree, checkout = tmp_path / "wt", tmp_path / "checkout"
    write(worktree, {"AGENTS.md": "tracked"})
    write(checkout, {"CLAUDE.local.md": "mine only"})
    found = gather(worktree, local_root=checkout, user_file=tmp_path / "none")
    assert found.sources == ["AGENTS.md", "CLAUDE.local.md"]


def test_caps_cut_earliest_layers_first_and_say_so(tmp_path: Path) -> None:
    write(tmp_path, {"AGENTS.md": "a" * 500, "CLAUDE.md": "c" * 300,
                     ".codetap/instructions.md": "i" * 100})
    found = gather(tmp_path, user_file=tmp_path / "none", file_cap=250, total_cap=450)
    texts = {layer.source: layer.text for layer in found.layers}
    assert texts[".codetap/instructions.md"] == "i" * 100  # the last layer wins room first
    assert texts["CLAUDE.md"].startswith("c" * 250) and "[... cut]" in texts["CLAUDE.md"]
    assert len(texts["AGENTS.md"]) < 250
    assert found.cuts == (
        "AGENTS.md: 500 characters, first 250 kept (per-file cap)",
        "CLAUDE.md: 300 characters, first 250 kept (per-file cap)",
        "AGENTS.md: first 90 characters kept (total cap 450)",
    )
    assert "Cut to fit: AGENTS.md: 500 characters" in found.render()
    tiny = gather(tmp_path, user_file=tmp_path / "none", total_cap=100)
    assert tiny.sources == [".codetap/instructions.md"]
    assert "CLAUDE.md: left out (300 characters; total cap 100)" in tiny.cuts


def test_symlink_out_of_the_repository_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("API_TOKEN=hunter2\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "AGENTS.md").symlink_to(secret)
    write(repo, {"CLAUDE.md": "fine"})
    assert gather(repo, user_file=tmp_path / "none").sources == ["CLAUDE.md"]


def prompts(events: list[Event]) -> list[dict[str, object]]:
    return [e.data for e in events if e.kind == "system_prompt"]


FINISH = {"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]}


async def test_system_prompt_journaled_once_and_again_after_a_change(xdg: Path,
                                                                     tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", LAYERS)
    (repo / ".gitignore").write_text("*.local.md\n")
    write(repo, LOCAL)
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-qm", "ignore local")
    user = xdg / "config" / "codetap" / "instructions.md"
    write(user.parent, {"instructions.md": "user wide"})
    turns = session(tmp_path / "s.jsonl", [FINISH, FINISH, FINISH])
    config = dataclasses.replace(Config.load(), default_model="replay",
                                 models={"replay": ModelConfig("replay", "replay",
                                                               path=str(turns))})
    scope = {"uri": (repo / "pkg" / "sub" / "mod.py").as_uri(),
             "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}}
    rt = await Runtime.open(config)
    try:
        task = await rt.wait((await rt.start_task("x", repo, scope=scope)).id)
        assert task.state is TaskState.READY, task.error
        first = prompts(await rt.store.events(task.id))
        assert len(first) == 1
        await rt.message(task.id, "again, nothing changed")
        assert (await rt.wait(task.id)).state is TaskState.READY
        assert len(prompts(await rt.store.events(task.id))) == 1
        user.write_text("user wide, edited\n")
        await rt.message(task.id, "again, with new instructions")
        assert (await rt.wait(task.id)).state is TaskState.READY
        events = await rt.store.events(task.id)
    finally:
        await rt.close()
    both = prompts(events)
    assert len(both) == 2 and both[0]["sha256"] != both[1]["sha256"]
    assert "user wide, edited" in str(both[1]["content"])
    assert both[0]["sources"] == [
        str(user), "AGENTS.md", "CLAUDE.md", *ORDER, ".codetap/instructions.md",
        ".codetap/rules/z.md", "pkg/AGENTS.md", "pkg/sub/.codetap/instructions.md",
        "AGENTS.local.md", "pkg/CLAUDE.local.md"]
    content = str(first[0]["content"])
    assert content.startswith("You are")  # the role prompt first
    assert task.worktree is not None and f"Worktree (your workspace root): " \
        f"{task.worktree.resolve()}" in content
    assert f"Today's date: {datetime.date.today().isoformat()}" in content
    assert "- Test command: none detected" in content
    assert "- Sandbox: " in content and "- OS: " in content and "kernel" in content
    assert first[0]["chars"] == len(content)
    # the journaled prompt is what the model saw: it comes before the first model turn
    kinds = [e.kind for e in events]
    assert kinds.index("system_prompt") < kinds.index("model_turn")
