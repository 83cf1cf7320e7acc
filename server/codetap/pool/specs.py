"""Language server specifications: which program serves which files, and how.

A :class:`ServerSpec` is plain data. :func:`default_specs` gives the servers codetap knows
(basedpyright, typescript-language-server, clangd, gopls); :func:`merge_specs` applies a
TOML-style override table ``{"servers": {"<name>": {...}}}`` from config on top of them.
Language ids follow the LSP specification's list of ``languageId`` values.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codetap.errors import ConfigError


@dataclass(frozen=True, slots=True)
class ServerSpec:
    """How to run one language server.

    - ``command``: argv; ``command[0]`` is looked up by :meth:`resolve_command`.
    - ``languages``: LSP ``languageId`` per file extension (``{".py": "python"}``); the
      extensions it serves are the keys.
    - ``root_markers``: file names that mark a project root (``pyproject.toml``, ``go.mod``).
    - ``initialization_options``: sent as ``InitializeParams.initializationOptions``.
    - ``settings``: nested dict answering ``workspace/configuration`` by dotted section.
    - ``env``: extra environment variables for the process.
    - ``ready_log_pattern``: regex on ``window/logMessage`` text meaning "workspace loaded"
      (None: readiness is judged from ``$/progress`` and quiet time only).
    - ``quiet_s``: seconds without progress or log traffic that count as settled at start.
    - ``install_hint``: how a user gets the binary (shown when it is missing).
    """

    name: str
    command: tuple[str, ...]
    languages: Mapping[str, str]
    root_markers: tuple[str, ...] = ()
    initialization_options: Mapping[str, Any] | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    ready_log_pattern: str | None = None
    quiet_s: float = 0.5
    install_hint: str = ""

    @property
    def extensions(self) -> tuple[str, ...]:
        """File extensions served, lower case with the dot (``(".py", ".pyi")``)."""
        return tuple(self.languages)

    def language_id(self, path: Path) -> str | None:
        """The ``languageId`` for ``path``, or None when this server does not serve it."""
        return self.languages.get(path.suffix.lower())

    def resolve_command(self) -> list[str] | None:
        """argv with ``command[0]`` made absolute, or None when the program is not found.

        A bare name is looked up next to ``sys.executable`` first (servers installed into
        the same virtualenv, e.g. basedpyright), then on ``PATH``.
        """
        program = self.command[0]
        if os.sep in program:
            return list(self.command) if os.access(program, os.X_OK) else None
        beside = Path(sys.executable).parent / program
        if beside.is_file() and os.access(beside, os.X_OK):
            return [str(beside), *self.command[1:]]
        found = shutil.which(program)
        return [found, *self.command[1:]] if found else None

    def setting(self, section: str | None) -> Any:
        """The value of dotted ``section`` in ``settings`` (whole dict for None), else None."""
        node: Any = self.settings
        if not section:
            return dict(node)
        for part in section.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        return node


_PY = {".py": "python", ".pyi": "python"}
_TS = {
    ".ts": "typescript",
    ".tsx": "typescriptreact",
    ".mts": "typescript",
    ".cts": "typescript",
    ".js": "javascript",
    ".jsx": "javascriptreact",
    ".mjs": "javascript",
    ".cjs": "javascript",
}
_C = {
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".hxx": "cpp",
}


def default_specs() -> list[ServerSpec]:
    """The built-in servers, in lookup order."""
    return [
        ServerSpec(
            name="basedpyright",
            command=("basedpyright-langserver", "--stdio"),
            languages=_PY,
            root_markers=("pyproject.toml", "setup.py", "setup.cfg", "pyrightconfig.json"),
            settings={
                "basedpyright": {"analysis": {"diagnosticMode": "openFilesOnly"}},
                "python": {"analysis": {}},
            },
            # basedpyright logs this once it has enumerated the workspace's source files;
            # references asked earlier only cover the files it knew by then.
            ready_log_pattern=r"^(Found \d+ source files?|No source files found)",
            install_hint="pip install basedpyright",
        ),
        ServerSpec(
            name="typescript-language-server",
            command=("typescript-language-server", "--stdio"),
            languages=_TS,
            root_markers=("tsconfig.json", "jsconfig.json", "package.json"),
            install_hint="npm i -g typescript-language-server typescript@5",
        ),
        ServerSpec(
            name="clangd",
            command=("clangd", "--background-index=false", "--log=error"),
            languages=_C,
            root_markers=("compile_commands.json", "compile_flags.txt", ".clangd"),
            install_hint="apt-get install clangd",
        ),
        ServerSpec(
            name="gopls",
            command=("gopls",),
            languages={".go": "go"},
            root_markers=("go.mod", "go.work"),
            install_hint="apt-get install gopls golang-go",
        ),
    ]


_FIELDS = {f.name for f in dataclasses.fields(ServerSpec)}


def merge_specs(defaults: list[ServerSpec], overrides: Mapping[str, Any]) -> list[ServerSpec]:
    """Apply config overrides ``{"servers": {"<name>": {field: value}}}`` to ``defaults``.

    Fields are those of :class:`ServerSpec`; ``languages`` may also be given as
    ``extensions`` + ``language_id``. A known name updates that spec (``settings`` are
    merged deeply); a new name adds a server (``command`` and ``languages`` required);
    ``enabled = false`` removes one. Raises ConfigError naming the bad key.
    """
    servers = overrides.get("servers", {})
    if not isinstance(servers, Mapping):
        raise ConfigError("[servers] must be a table of server names")
    result = {spec.name: spec for spec in defaults}
    for name, table in servers.items():
        if not isinstance(table, Mapping):
            raise ConfigError(f"[servers.{name}] must be a table")
        values = dict(table)
        if values.pop("enabled", True) is False:
            result.pop(name, None)
            continue
        if "extensions" in values:
            exts, lang = values.pop("extensions"), values.pop("language_id", name)
            values["languages"] = {_dot(e): str(lang) for e in exts}
        unknown = set(values) - _FIELDS
        if unknown:
            raise ConfigError(f"[servers.{name}]: unknown key(s) {', '.join(sorted(unknown))}")
        _check_types(name, values)
        base = result.get(name)
        if base is None:
            if "command" not in values or "languages" not in values:
                raise ConfigError(f"[servers.{name}]: a new server needs command and extensions")
            result[name] = ServerSpec(name=name, **_freeze(values))
            continue
        if "settings" in values:
            values["settings"] = _deep_merge(base.settings, values["settings"])
        result[name] = dataclasses.replace(base, **_freeze(values))
    return list(result.values())


def _dot(ext: str) -> str:
    return ext.lower() if ext.startswith(".") else "." + ext.lower()


def _check_types(name: str, values: Mapping[str, Any]) -> None:
    command = values.get("command")
    if command is not None and (
        not isinstance(command, list | tuple)
        or not command
        or not all(isinstance(a, str) for a in command)
    ):
        raise ConfigError(f"[servers.{name}] command must be a non-empty list of strings")
    for key in ("settings", "env", "languages"):
        if key in values and not isinstance(values[key], Mapping):
            raise ConfigError(f"[servers.{name}] {key} must be a table")
    pattern = values.get("ready_log_pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"[servers.{name}] ready_log_pattern: {exc}") from None


def _freeze(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for key in ("command", "root_markers"):
        if key in out:
            out[key] = tuple(out[key])
    if "languages" in out:
        out["languages"] = {_dot(k): str(v) for k, v in out["languages"].items()}
    return out


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def spec_for(specs: list[ServerSpec], path: Path) -> ServerSpec | None:
    """The first spec serving ``path``'s extension, or None."""
    for spec in specs:
        if spec.language_id(path) is not None:
            return spec
    return None
