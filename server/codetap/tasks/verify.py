"""A verified finish (issue 18, item 4): the ``[verify]`` settings, how the test command is
found, and one verification run.

``[verify]`` (user config, or a trusted project's; an untrusted project may lower
``max_rounds`` and ``timeout_s`` and pick a ``strategy``, but its ``command`` decides which
program codetap starts, so it is ignored with the trust warning)::

    [verify]
    command = "make check"   # default: detected from the repository (detect())
    max_rounds = 2           # verification runs after `finish` before the task ends anyway
    strategy = "full"        # full | changed | none
    timeout_s = 900

The command runs in the task's worktree through the ``bash`` tool's machinery (scrubbed
environment, ``[sandbox]``, process limits), not through the command policy: it is
codetap's own command, chosen by the user or detected, not the model's.

``strategy = "changed"`` narrows a detected pytest or unittest command to the test files
touching the changed modules: changed test files, and test files whose name contains a
changed module's name or which import it (a line ``import m``/``from m``/``from pkg.m``/
``from pkg import m``). Without such files, or for other runners, the full command runs
and the run says so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from codetap.errors import ConfigError
from codetap.redact import redact_text
from codetap.tools.base import ToolContext, run_tool
from codetap.tools.bash import BashTool
from codetap.types import JSON

Strategy = Literal["full", "changed", "none"]
STRATEGIES: tuple[str, ...] = ("full", "changed", "none")
OUTPUT_CAP = 8_000
"""Characters of a run's output kept in the journal and the feedback (head 2,000 + tail)."""

_SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__", "target", "dist",
              "build", ".tox", ".mypy_cache", ".pytest_cache", "vendor"}
_NPM_DEFAULT_TEST = 'echo "Error: no test specified" && exit 1'


@dataclass(frozen=True, slots=True)
class VerifySettings:
    """The ``[verify]`` table: ``command`` (None: detect), ``max_rounds`` (>= 1),
    ``strategy``, ``timeout_s`` (seconds per run)."""

    command: str | None = None
    max_rounds: int = 2
    strategy: Strategy = "full"
    timeout_s: float = 900.0

    @classmethod
    def from_toml(cls, table: Any, where: str) -> VerifySettings:
        """Build from a parsed ``[verify]`` table. ConfigError naming ``where`` and the key
        for unknown keys and wrong values."""
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [verify] must be a table")
        values: dict[str, Any] = {}
        for key, value in table.items():
            if key == "command":
                if not isinstance(value, str) or not value.strip():
                    raise ConfigError(f"{where}: verify.command = {value!r}: expected a "
                                      "non-empty string")
                values[key] = value
            elif key == "max_rounds":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ConfigError(f"{where}: verify.max_rounds = {value!r}: expected an "
                                      "integer >= 1")
                values[key] = value
            elif key == "strategy":
                if value not in STRATEGIES:
                    raise ConfigError(f"{where}: verify.strategy = {value!r}: expected one of "
                                      f"{', '.join(map(repr, STRATEGIES))}")
                values[key] = value
            elif key == "timeout_s":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                    raise ConfigError(f"{where}: verify.timeout_s = {value!r}: expected a "
                                      "number > 0")
                values[key] = float(value)
            else:
                raise ConfigError(f"{where}: unknown key verify.{key}")
        return cls(**values)

    def tightened(self, table: Any, where: str) -> tuple[VerifySettings, list[str]]:
        """Apply an untrusted project's ``[verify]``: ``max_rounds`` and ``timeout_s`` only
        lower; ``strategy`` applies (it only narrows or skips what runs); ``command`` never
        does (it decides which program codetap starts). Returns the settings and the dotted
        keys ignored; ConfigError as :meth:`from_toml`."""
        wanted = VerifySettings.from_toml(table, where)
        ignored: list[str] = []
        changes: dict[str, Any] = {}
        for key in table:
            value = getattr(wanted, key)
            if key == "command":
                ignored.append("verify.command")
            elif key in ("max_rounds", "timeout_s") and value > getattr(self, key):
                ignored.append(f"verify.{key}")
            else:
                changes[key] = value
        return VerifySettings(**{**_fields(self), **changes}), ignored


def _fields(settings: VerifySettings) -> dict[str, Any]:
    return {k: getattr(settings, k) for k in ("command", "max_rounds", "strategy", "timeout_s")}


@dataclass(frozen=True, slots=True)
class Detected:
    """A test command: ``command``, ``runner`` (pytest, unittest, npm, go, cargo, make,
    custom) and ``detected_from`` (``"config"`` or the file that gave it away)."""

    command: str
    runner: str
    detected_from: str


def detect(root: Path) -> Detected | None:
    """The repository's test command, from its files (None when nothing says how).

    Checked in order: a Makefile ``test:`` target; package.json ``scripts.test`` (not npm's
    placeholder); Cargo.toml; go.mod; pytest configuration (pytest.ini, conftest.py,
    ``[tool.pytest.ini_options]`` in pyproject.toml, ``[tool:pytest]`` in setup.cfg,
    ``[pytest]`` in tox.ini); Python test files (``test_*.py``/``*_test.py`` at the root
    or in tests/, test/): unittest.
    """
    makefile = next((root / n for n in ("Makefile", "makefile", "GNUmakefile")
                     if (root / n).is_file()), None)
    if makefile is not None and re.search(r"^test\s*:", _text(makefile), re.MULTILINE):
        return Detected("make test", "make", f"{makefile.name} (test target)")
    if (root / "package.json").is_file():
        try:
            scripts = json.loads(_text(root / "package.json")).get("scripts") or {}
        except (ValueError, AttributeError):
            scripts = {}
        test = scripts.get("test") if isinstance(scripts, dict) else None
        if isinstance(test, str) and test.strip() and test.strip() != _NPM_DEFAULT_TEST:
            return Detected("npm test", "npm", "package.json (scripts.test)")
    if (root / "Cargo.toml").is_file():
        return Detected("cargo test", "cargo", "Cargo.toml")
    if (root / "go.mod").is_file():
        return Detected("go test ./...", "go", "go.mod")
    pytest_from = _pytest_config(root)
    if pytest_from is not None:
        return Detected("python3 -m pytest -q", "pytest", pytest_from)
    for where in (root, root / "tests", root / "test"):
        if where.is_dir() and any(_is_test_file(p.name) for p in where.glob("*.py")):
            if where == root:
                return Detected("python3 -m unittest discover -q", "unittest",
                                next(p.name for p in sorted(root.glob("*.py"))
                                     if _is_test_file(p.name)))
            rel = where.name
            return Detected(f"python3 -m unittest discover -q -s {rel}", "unittest", f"{rel}/")
    return None


def _pytest_config(root: Path) -> str | None:
    if (root / "pytest.ini").is_file():
        return "pytest.ini"
    if (root / "conftest.py").is_file():
        return "conftest.py"
    for name, marker in (("pyproject.toml", "[tool.pytest.ini_options]"),
                         ("setup.cfg", "[tool:pytest]"), ("tox.ini", "[pytest]")):
        if (root / name).is_file() and marker in _text(root / name):
            return f"{name} ({marker})"
    return None


def _is_test_file(name: str) -> bool:
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def _text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


@dataclass(frozen=True, slots=True)
class Plan:
    """What one verification run executes: ``command`` (the full command, or narrowed),
    where it came from, and a ``note`` on the strategy (empty for full runs)."""

    command: str
    detected_from: str
    runner: str
    note: str = ""


def plan(settings: VerifySettings, root: Path, changed: list[str]) -> Plan | None:
    """The run for ``settings`` in worktree ``root`` with repository-relative ``changed``
    paths; None when verification is off (``strategy = "none"``) or no command is
    configured or detected."""
    if settings.strategy == "none":
        return None
    found = Detected(settings.command, "custom", "config") if settings.command else detect(root)
    if found is None:
        return None
    if settings.strategy != "changed":
        return Plan(found.command, found.detected_from, found.runner)
    if found.runner not in ("pytest", "unittest"):
        return Plan(found.command, found.detected_from, found.runner,
                    f"strategy changed is not supported for {found.runner}: full run")
    tests = related_tests(root, changed)
    if not tests:
        return Plan(found.command, found.detected_from, found.runner,
                    "strategy changed: no test file touches the changed modules: full run")
    if found.runner == "pytest":
        command = f"{found.command} " + " ".join(_quote(t) for t in tests)
    else:
        command = "python3 -m unittest -q " + " ".join(
            _quote(t.removesuffix(".py").replace("/", ".")) for t in tests)
    return Plan(command, found.detected_from, found.runner,
                f"strategy changed: {len(tests)} test file(s) touching the changed modules")


def related_tests(root: Path, changed: list[str]) -> list[str]:
    """Test files (repository-relative, sorted) for ``changed`` Python paths: the changed
    test files themselves and those whose name or imports mention a changed module."""
    modules = {Path(p).stem for p in changed if p.endswith(".py") and not _is_test_file(
        Path(p).name) and Path(p).stem != "__init__"}
    out = {p for p in changed if _is_test_file(Path(p).name) and (root / p).is_file()}
    if modules:
        names = "|".join(re.escape(m) for m in sorted(modules))
        imports = re.compile(
            rf"^\s*(?:from\s+(?:[\w.]+\.)?(?:{names})\b|import\s+(?:[\w.]+\.)?(?:{names})\b|"
            rf"from\s+[\w.]+\s+import\s+.*\b(?:{names})\b)", re.MULTILINE)
        for path in _test_files(root):
            rel = path.relative_to(root).as_posix()
            if any(m in path.stem for m in modules) or imports.search(_text(path)):
                out.add(rel)
    return sorted(out)


def _test_files(root: Path, limit: int = 5000) -> list[Path]:
    found: list[Path] = []
    stack = [root]
    while stack and len(found) < limit:
        for entry in sorted(stack.pop().iterdir()):
            if entry.is_symlink():
                continue
            if entry.is_dir():
                if entry.name not in _SKIP_DIRS:
                    stack.append(entry)
            elif _is_test_file(entry.name):
                found.append(entry)
    return found


def _quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w./-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"


@dataclass(slots=True)
class Verification:
    """One run's result; :meth:`entry` is the journal's ``verification`` data."""

    command: str
    passed: bool
    exit_code: int | None
    output: str
    round: int
    detected_from: str
    note: str = ""
    extra: JSON = field(default_factory=dict)

    def entry(self) -> JSON:
        """``{command, passed, exit_code, output (capped), round, detected_from, note?}``."""
        data: JSON = {"command": self.command, "passed": self.passed,
                      "exit_code": self.exit_code, "output": self.output, "round": self.round,
                      "detected_from": self.detected_from}
        if self.note:
            data["note"] = self.note
        return data

    def summary(self) -> str:
        """One line for TaskInfo: ``passed``, or the failure and its last output line."""
        if self.passed:
            return f"passed: `{self.command}` (round {self.round})"
        last = next((ln for ln in reversed(self.output.splitlines())
                     if ln.strip() and not ln.startswith("[exit code")), "")
        code = "timed out" if self.exit_code is None else f"exit code {self.exit_code}"
        return f"failed: `{self.command}` ({code}, round {self.round}): {last[:200]}"

    def feedback(self, rounds_left: int) -> str:
        """The user message sent to the model after a failed run."""
        return (f"Verification failed: codetap ran `{self.command}` in the worktree after "
                f"you called finish, and it did not pass "
                f"({'no exit code' if self.exit_code is None else f'exit code {self.exit_code}'})"
                f". Output:\n\n{self.output}\n\nFix the cause, then call `finish` again. "
                f"{rounds_left} verification round(s) left; after that the task ends as "
                "not verified.")


async def run(p: Plan, ctx: ToolContext, round_: int, timeout_s: float) -> Verification:
    """Run ``p.command`` with the ``bash`` tool's machinery in ``ctx.workspace`` (sandbox
    per ``ctx.sandbox``; the command policy is not consulted). Never raises for a failing
    command: a non-zero exit, a time-out or a refused sandbox is ``passed = False``."""
    result = await run_tool(BashTool(), {"command": p.command, "timeout_s": timeout_s}, ctx)
    code = result.meta.get("exit_code")
    passed = not result.is_error and code == 0
    return Verification(p.command, passed, code if isinstance(code, int) else None,
                        cap(redact_text(result.output)), round_, p.detected_from, p.note)


def cap(text: str, limit: int = OUTPUT_CAP) -> str:
    """``text`` within ``limit`` characters: its head (a quarter) and tail, the cut said."""
    if len(text) <= limit:
        return text
    head = limit // 4
    tail = limit - head
    return f"{text[:head]}\n[... {len(text) - limit} characters cut ...]\n{text[-tail:]}"
