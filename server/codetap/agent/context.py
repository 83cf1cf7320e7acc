"""What the model is told at the start: system prompt with project instructions, task text."""

from __future__ import annotations

from pathlib import Path

from codetap.types import JSON

INSTRUCTION_FILES = ("AGENTS.md", "CLAUDE.md", ".codetap/instructions.md")
_MAX_INSTRUCTIONS = 20_000


def project_instructions(workspace: Path) -> str:
    """Concatenated project instruction files found at the workspace root, each headed by
    its name; at most 20,000 characters (cut with a note)."""
    parts = []
    for name in INSTRUCTION_FILES:
        path = workspace / name
        if path.is_file():
            text = path.read_text(errors="replace").strip()
            if text:
                parts.append(f"## {name}\n\n{text}")
    joined = "\n\n".join(parts)
    if len(joined) > _MAX_INSTRUCTIONS:
        joined = joined[:_MAX_INSTRUCTIONS] + "\n[project instructions truncated]"
    return joined


def system_prompt(role_prompt: str, workspace: Path, repo_map: str = "") -> str:
    """The role prompt, then project instructions and the repo map when there are any."""
    out = [role_prompt]
    instructions = project_instructions(workspace)
    if instructions:
        out.append("# Project instructions\n\n" + instructions)
    if repo_map:
        out.append("# Repository map (most connected definitions)\n\n" + repo_map)
    return "\n\n".join(out)


def task_message(intent: str, scope: JSON | None) -> str:
    """The first user message: the intent, and the scope (file and 1-based lines) if any."""
    text = f"Task: {intent}"
    if scope:
        path = str(scope.get("path") or scope.get("uri", ""))
        rng = scope.get("range") or {}
        start = rng.get("start", {}).get("line")
        end = rng.get("end", {}).get("line")
        where = path if start is None else f"{path}, lines {start + 1}-{(end or start) + 1}"
        text += f"\n\nScope: {where}. Focus the change there."
    return text
