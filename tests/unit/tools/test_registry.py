from __future__ import annotations

from typing import ClassVar

import pytest

from codetap.errors import ConfigError
from codetap.tools.base import Tool, ToolContext
from codetap.tools.registry import BUILTIN_TOOLS, make_tools, register_tool, registered_tools
from codetap.types import JSON, ToolResult

CONTRACT = {
    "glob": {"pattern", "path"},
    "grep": {"pattern", "path", "glob", "case_insensitive", "context"},
    "read": {"path", "offset", "limit"},
    "edit": {"path", "old_string", "new_string", "replace_all"},
    "write": {"path", "content"},
    "bash": {"command", "timeout_s"},
    "todo": {"items"},
    "finish": {"summary"},
}


def test_builtin_names_and_arguments_follow_the_contract() -> None:
    assert set(BUILTIN_TOOLS) == set(CONTRACT)
    for name, cls in BUILTIN_TOOLS.items():
        params = cls.parameters
        assert set(params["properties"]) == CONTRACT[name], name
        assert params["additionalProperties"] is False
        assert cls.spec().name == name and cls.description


def test_flags() -> None:
    for name in ("glob", "grep", "read"):
        cls = BUILTIN_TOOLS[name]
        assert cls.read_only and cls.idempotent and not cls.mutates
    for name in ("edit", "write", "bash"):
        cls = BUILTIN_TOOLS[name]
        assert not cls.read_only and not cls.idempotent and cls.mutates
    assert not BUILTIN_TOOLS["finish"].read_only and not BUILTIN_TOOLS["todo"].mutates


def test_make_tools_in_order_and_unknown_name() -> None:
    tools = make_tools(["read", "edit", "read"])
    assert [t.name for t in tools] == ["read", "edit"]
    with pytest.raises(ConfigError, match=r"unknown tool\(s\): nope; known tools: .*\bread\b"):
        make_tools(["read", "nope"])


class EchoTool(Tool):
    name: ClassVar[str] = "test_echo"
    description: ClassVar[str] = "echo"
    parameters: ClassVar[JSON] = {"type": "object", "additionalProperties": False}

    async def run(self, args: JSON, ctx: ToolContext) -> ToolResult:
        return ToolResult("echo")


def test_register_tool() -> None:
    assert register_tool(EchoTool) is EchoTool
    assert register_tool(EchoTool) is EchoTool  # idempotent
    assert isinstance(make_tools(["test_echo"])[0], EchoTool)
    assert "test_echo" in registered_tools() and "test_echo" not in BUILTIN_TOOLS

    class Impostor(EchoTool):
        pass

    with pytest.raises(ValueError, match="already registered"):
        register_tool(Impostor)
    with pytest.raises(ValueError, match="already registered"):
        register_tool(type("FakeRead", (EchoTool,), {"name": "read"}))
