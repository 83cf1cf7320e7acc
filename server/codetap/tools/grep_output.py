"""The text ``grep`` returns, shared by the ripgrep and the pure-Python engines."""

from __future__ import annotations

from dataclasses import dataclass

from codetap.tools.text import cut_line

MAX_LINE_CHARS = 300


@dataclass(frozen=True, slots=True)
class GrepQuery:
    """A validated grep request (``context`` in lines before and after each match)."""

    pattern: str
    glob: str | None = None
    case_insensitive: bool = False
    context: int = 0


class Formatter:
    """Collects result lines as ``path:line:text`` (match) / ``path-line-text`` (context).

    Groups that are not adjacent are separated by ``--`` when context is requested, as
    grep and ripgrep do. Stops accepting lines once ``cap_bytes`` (UTF-8) is reached.
    """

    def __init__(self, cap_bytes: int) -> None:
        self.cap_bytes = cap_bytes
        self.lines: list[str] = []
        self.size = 0
        self.matches = 0
        self.truncated = False
        self._last: tuple[str, int] | None = None

    def add(self, path: str, line_number: int, text: str, is_match: bool, context: int) -> bool:
        """Add one line (without its terminator); False once the cap is reached (stop)."""
        if self.truncated:
            return False
        out: list[str] = []
        if context and self._last is not None and self._last != (path, line_number - 1):
            out.append("--")
        sep = ":" if is_match else "-"
        out.append(f"{path}{sep}{line_number}{sep}{cut_line(text, MAX_LINE_CHARS)}")
        size = sum(len(line.encode("utf-8")) + 1 for line in out)
        if self.size + size > self.cap_bytes:
            self.truncated = True
            return False
        self.lines.extend(out)
        self.size += size
        self.matches += is_match
        self._last = (path, line_number)
        return True

    def render(self, pattern: str) -> str:
        """The tool output: the lines, or a no-match sentence, plus a truncation note."""
        if not self.lines:
            if self.truncated:
                return "(truncated: output cap reached before any line fitted)"
            return f"No matches for {pattern!r}."
        text = "\n".join(self.lines)
        if self.truncated:
            text += (
                f"\n(truncated: output capped at {self.cap_bytes} bytes after {self.matches} "
                "matching lines; more matches not shown. Narrow the search with path, glob "
                "or a more specific pattern)"
            )
        return text
