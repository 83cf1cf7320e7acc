"""What the model is told at the start: the system prompt (role prompt, layered
instructions, environment facts, repo map) and the task text (ARCHITECTURE.md "Context").

:func:`system_prompt` assembles the prompt; the engine journals it (``system_prompt``
entry) once per task and again whenever its hash changes.
"""

from __future__ import annotations

import datetime
import os
import platform
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from codetap.agent.instructions import Instructions, gather
from codetap.tools.sandbox import SandboxSettings, SandboxStatus
from codetap.types import JSON

LANGUAGES = {
    ".py": "Python", ".js": "JavaScript", ".mjs": "JavaScript", ".ts": "TypeScript",
    ".tsx": "TypeScript", ".jsx": "JavaScript", ".go": "Go", ".rs": "Rust", ".java": "Java",
    ".kt": "Kotlin", ".c": "C", ".h": "C", ".cc": "C++", ".cpp": "C++", ".hpp": "C++",
    ".cs": "C#", ".rb": "Ruby", ".php": "PHP", ".swift": "Swift", ".scala": "Scala",
    ".sh": "Shell", ".lua": "Lua", ".zig": "Zig", ".ex": "Elixir", ".hs": "Haskell",
}
_SKIP = {".git", "node_modules", ".venv", "venv", "__pycache__", "target", "dist", "build",
         "vendor", ".tox"}


def project_instructions(workspace: Path) -> str:
    """The rendered instruction layers for ``workspace`` (root only, no scope); see
    :func:`codetap.agent.instructions.gather`."""
    return gather(workspace).render()


@dataclass(frozen=True, slots=True)
class Environment:
    """Facts about where the task runs, rendered by :meth:`render` as a bullet list.
    ``verified``: whether codetap runs ``test_command`` after ``finish``."""

    worktree: Path
    sandbox: SandboxSettings
    status: SandboxStatus | None = None
    test_command: str | None = None
    test_from: str | None = None
    languages: tuple[str, ...] = ()
    today: str = ""
    verified: bool = True

    def render(self) -> str:
        """Bullet lines: OS and kernel, shell, worktree, date, languages, tests, sandbox."""
        lines = [f"- OS: {_os_name()}, kernel {platform.release()} ({platform.machine()})",
                 "- Shell: the bash tool runs `bash -c` in the worktree root",
                 f"- Worktree (your workspace root): {self.worktree}",
                 f"- Today's date: {self.today or datetime.date.today().isoformat()}"]
        if self.languages:
            lines.append(f"- Languages (by file count): {', '.join(self.languages)}")
        if self.test_command:
            when = ("codetap runs it after you call finish" if self.verified
                    else "codetap does not run it for you ([verify] strategy = \"none\")")
            lines.append(f"- Test command: `{self.test_command}` (from {self.test_from}); "
                         f"{when}")
        else:
            lines.append("- Test command: none detected")
        lines.append(f"- Sandbox: {_sandbox_line(self.sandbox, self.status)}")
        return "\n".join(lines)


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return f"{platform.system()} ({line.split('=', 1)[1].strip(chr(34))})"
    except OSError:
        pass
    return platform.system()


def _sandbox_line(settings: SandboxSettings, status: SandboxStatus | None) -> str:
    network = "network on" if settings.network == "on" else "no network"
    if settings.mode == "off":
        return "off ([sandbox] mode = \"off\"): bash runs unsandboxed"
    if status is not None and status.works:
        return (f"bubblewrap: only the worktree is writable, .git read-only, empty $HOME, "
                f"{network}")
    if settings.mode == "required":
        return "required but not available here: bash commands are refused"
    return "not available here: bash runs unsandboxed"


def languages(root: Path, limit: int = 5000) -> tuple[str, ...]:
    """Up to five languages of the files under ``root`` by count (at most ``limit`` files
    looked at; dependency and build directories skipped)."""
    counts: Counter[str] = Counter()
    seen = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP)
        for name in filenames:
            lang = LANGUAGES.get(os.path.splitext(name)[1])
            if lang:
                counts[lang] += 1
            seen += 1
        if seen >= limit:
            break
    return tuple(lang for lang, _ in counts.most_common(5))


def system_prompt(role_prompt: str, workspace: Path, repo_map: str = "", *,
                  instructions: Instructions | None = None,
                  environment: Environment | None = None) -> str:
    """The role prompt, then the instruction layers (default: :func:`gather` at the
    workspace root), the environment facts and the repo map, each when there is one."""
    out = [role_prompt]
    layers = (instructions if instructions is not None else gather(workspace)).render()
    if layers:
        out.append("# Project instructions\n\n" + layers)
    if environment is not None:
        out.append("# Environment\n\n" + environment.render())
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
