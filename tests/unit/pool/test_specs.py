"""ServerSpec data, config overrides and UTF-16 position conversion."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from lsprotocol import types as lsp

from codetap.errors import ConfigError
from codetap.pool import default_specs, merge_specs
from codetap.pool.positions import from_lsp_position, split_lines, to_lsp_position
from codetap.pool.specs import spec_for


def test_defaults_cover_the_four_servers() -> None:
    specs = default_specs()
    assert [s.name for s in specs] == [
        "basedpyright",
        "typescript-language-server",
        "clangd",
        "gopls",
    ]
    assert spec_for(specs, Path("a/b.py")).name == "basedpyright"  # type: ignore[union-attr]
    assert spec_for(specs, Path("x.TSX")).language_id(Path("x.TSX")) == "typescriptreact"  # type: ignore[union-attr]
    assert spec_for(specs, Path("x.go")).name == "gopls"  # type: ignore[union-attr]
    assert spec_for(specs, Path("notes.txt")) is None


def test_basedpyright_found_next_to_the_interpreter() -> None:
    argv = default_specs()[0].resolve_command()
    assert argv is not None
    assert argv[0] == str(Path(sys.executable).parent / "basedpyright-langserver")
    assert argv[1:] == ["--stdio"]


def test_merge_updates_adds_and_removes() -> None:
    overrides = {
        "servers": {
            "basedpyright": {
                "settings": {"basedpyright": {"analysis": {"typeCheckingMode": "strict"}}}
            },
            "clangd": {"enabled": False},
            "zls": {"command": ["zls"], "extensions": ["zig"], "language_id": "zig"},
        }
    }
    specs = {s.name: s for s in merge_specs(default_specs(), overrides)}
    assert "clangd" not in specs
    bp = specs["basedpyright"]
    # deep merge keeps the default diagnosticMode next to the new key
    assert bp.setting("basedpyright.analysis") == {
        "diagnosticMode": "openFilesOnly",
        "typeCheckingMode": "strict",
    }
    assert bp.setting("python.analysis") == {}
    assert bp.setting("no.such.section") is None
    assert specs["zls"].command == ("zls",)
    assert specs["zls"].language_id(Path("a.zig")) == "zig"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"servers": {"gopls": {"colour": "red"}}}, "unknown key(s) colour"),
        ({"servers": {"gopls": {"command": "gopls"}}}, "command must be a non-empty list"),
        ({"servers": {"newls": {"command": ["newls"]}}}, "needs command and extensions"),
        ({"servers": {"gopls": {"ready_log_pattern": "("}}}, "ready_log_pattern"),
        ({"servers": ["gopls"]}, "must be a table"),
    ],
)
def test_merge_rejects_bad_config(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        merge_specs(default_specs(), overrides)


def test_missing_program_resolves_to_none() -> None:
    spec = merge_specs(default_specs(), {"servers": {"gopls": {"command": ["codetap-no-such-ls"]}}})
    assert next(s for s in spec if s.name == "gopls").resolve_command() is None


def test_positions_count_utf16_units_outside_the_bmp() -> None:
    lines = split_lines('x = "\U0001f642é"; y = f(1)\r\nsecond')
    assert lines == ['x = "\U0001f642é"; y = f(1)', "second"]
    col = lines[0].index("f(") + 1  # 1-based code point column of f
    pos = to_lsp_position(lines, 1, col)
    assert pos == lsp.Position(line=0, character=col - 1 + 1)  # the emoji takes 2 units
    assert from_lsp_position(lines, pos) == (1, col)
    assert to_lsp_position(lines, 2, 99) == lsp.Position(line=1, character=6)
    with pytest.raises(ValueError, match="past the end"):
        to_lsp_position(lines, 3, 1)
