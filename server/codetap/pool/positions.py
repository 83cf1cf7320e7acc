"""Position conversion between the tools' 1-based columns and LSP's UTF-16 positions.

The model-facing ``lsp`` tool counts lines and characters from 1, characters being
Unicode code points of the line. LSP (3.17, "Position") counts both from 0 and measures
``character`` in UTF-16 code units unless another ``positionEncoding`` was negotiated, so
a line holding characters outside the BMP (emoji, some CJK) differs between the two.
"""

from __future__ import annotations

from lsprotocol import types as lsp


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def to_lsp_position(lines: list[str], line: int, character: int) -> lsp.Position:
    """1-based (line, code point column) in ``lines`` -> LSP 0-based UTF-16 Position.

    ``lines`` are the file's lines without line endings. A column past the end of the
    line is clamped to the end (LSP says the same); a line past the end raises ValueError.
    """
    if line < 1 or character < 1:
        raise ValueError("line and character are 1-based")
    if line > max(len(lines), 1):
        raise ValueError(f"line {line} is past the end of the file ({len(lines)} lines)")
    text = lines[line - 1] if lines else ""
    return lsp.Position(line=line - 1, character=utf16_len(text[: character - 1]))


def from_lsp_position(lines: list[str], position: lsp.Position) -> tuple[int, int]:
    """LSP Position -> 1-based (line, code point column), clamped to the text."""
    row = position.line
    if row >= len(lines):
        return row + 1, position.character + 1
    text = lines[row]
    units = 0
    for index, char in enumerate(text):
        if units >= position.character:
            return row + 1, index + 1
        units += 2 if ord(char) > 0xFFFF else 1
    return row + 1, len(text) + 1


def split_lines(text: str) -> list[str]:
    """Lines as LSP counts them: split on ``\\n``, ``\\r\\n`` and ``\\r``."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
