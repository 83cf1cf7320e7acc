"""Text shaping shared by the tools: cutting long lines, capping output, numbering lines.

Every cut is announced in the text itself, so the model knows something is missing and
how to get it (ARCHITECTURE.md "Tool contract": results state truncation plainly).
"""

from __future__ import annotations


def cut_line(line: str, max_chars: int) -> str:
    """``line`` unchanged if at most ``max_chars`` characters, else its head plus a note."""
    if len(line) <= max_chars:
        return line
    return f"{line[:max_chars]}… [line cut: {len(line) - max_chars} more chars]"


def number_lines(lines: list[str], first: int, max_chars: int) -> str:
    """``cat -n`` style: right-aligned 1-based number (width 6), a tab, the (cut) text."""
    return "\n".join(
        f"{first + i:>6}\t{cut_line(line, max_chars)}" for i, line in enumerate(lines)
    )


def split_lines(text: str) -> list[str]:
    """Split on ``\\n`` only (not on form feeds etc., unlike ``str.splitlines``).

    A trailing ``\\r`` is dropped from each line; a final newline does not start a line.
    """
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def head_tail(data: bytes, cap: int) -> tuple[bytes, bytes, int]:
    """Split ``data`` into (head, tail, bytes_cut) keeping at most ``cap`` bytes in total."""
    if len(data) <= cap:
        return data, b"", 0
    half = cap // 2
    return data[:half], data[len(data) - (cap - half):], len(data) - cap
