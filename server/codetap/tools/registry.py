"""Tool names to classes: the built-in tools plus those other packages register.

Modules owning further tools (``lsp``, ``symbols``, ``ask``) call :func:`register_tool`
when imported; :func:`make_tools` and :func:`registered_tools` import those known modules
first, so roles can name any tool. Roles get instances from :func:`make_tools`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TypeVar

from codetap.errors import ConfigError
from codetap.tools.base import Tool
from codetap.tools.bash import BashTool
from codetap.tools.edit import EditTool
from codetap.tools.glob import GlobTool
from codetap.tools.grep import GrepTool
from codetap.tools.plan import FinishTool, TodoTool
from codetap.tools.read import ReadTool
from codetap.tools.write import WriteTool

BUILTIN_TOOLS: dict[str, type[Tool]] = {
    cls.name: cls
    for cls in (GlobTool, GrepTool, ReadTool, EditTool, WriteTool, BashTool, TodoTool, FinishTool)
}

PLUGIN_MODULES = ("codetap.tools.lsp", "codetap.tools.symbols", "codetap.tools.ask")

_registry: dict[str, type[Tool]] = dict(BUILTIN_TOOLS)
_plugins_loaded = False

ToolClass = TypeVar("ToolClass", bound=type[Tool])


def _load_plugins() -> None:
    """Import the known tool modules once (a module that does not exist is skipped)."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for module in PLUGIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def register_tool(cls: ToolClass) -> ToolClass:
    """Make ``cls`` available under ``cls.name``; returns ``cls`` (usable as a decorator).

    Registering the same class again is a no-op. Raises ValueError if another class
    already has that name.
    """
    existing = _registry.get(cls.name)
    if existing is not None and existing is not cls:
        raise ValueError(
            f"tool name {cls.name!r} is already registered by "
            f"{existing.__module__}.{existing.__qualname__}"
        )
    _registry[cls.name] = cls
    return cls


def registered_tools() -> dict[str, type[Tool]]:
    """A copy of the name -> class mapping (built-in and registered)."""
    _load_plugins()
    return dict(_registry)


def make_tools(names: Iterable[str]) -> list[Tool]:
    """One instance per name, in order (duplicates dropped).

    Raises ConfigError naming the unknown tool(s) and listing the known ones.
    """
    _load_plugins()
    wanted = list(dict.fromkeys(names))
    unknown = [n for n in wanted if n not in _registry]
    if unknown:
        raise ConfigError(
            f"unknown tool(s): {', '.join(unknown)}; known tools: {', '.join(sorted(_registry))}"
        )
    return [_registry[n]() for n in wanted]
