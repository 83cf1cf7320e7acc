"""Shell words as bash would see them after quote removal, from tree-sitter-bash nodes.

A word is evaluated statically: quotes and backslashes are removed, ``$'...'`` escapes are
decoded, unquoted ``{a,b}`` brace lists are expanded. What only run time knows (``$VAR``,
``${...}``, ``$(...)``, backticks, ``<(...)``, ``$((...))``) stays as its source text and
marks the word ``dynamic``: a policy pattern can still match that text (``*$*``), but such
a word is never trusted as a command name.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from tree_sitter import Node

# Node types whose value is only known at run time.
_DYNAMIC = frozenset({"simple_expansion", "expansion", "command_substitution",
                      "process_substitution", "arithmetic_expansion"})
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_STRING_ESCAPE = re.compile(r'\\([$`"\\\n])')
_ANSI_C = re.compile(r"\\(x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{1,4}|U[0-9A-Fa-f]{1,8}|[0-7]{1,3}"
                     r"|c.|.)", re.DOTALL)
_ANSI_SIMPLE = {"a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n",
                "r": "\r", "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}
_BRACE_SEQUENCE = re.compile(r"\{[^{},]*\.\.[^{},]*\}")
MAX_EXPANSIONS = 64


@dataclass(frozen=True, slots=True)
class Word:
    """One evaluated word. ``values``: its words after brace expansion (usually one);
    ``dynamic``: part of it is only known at run time; ``unsure``: bash may expand it in a
    way not modelled here (an unquoted ``{x..y}`` sequence, too many brace expansions)."""

    values: tuple[str, ...]
    dynamic: bool
    unsure: bool

    @property
    def text(self) -> str:
        """The word as one string (brace alternatives joined by blanks)."""
        return " ".join(self.values)


def evaluate(node: Node) -> Word:
    """The :class:`Word` of a tree-sitter-bash argument or command-name node."""
    parts: list[tuple[str, bool]] = []  # (text, quoted)
    dynamic = _collect(node, parts)
    unquoted = "".join(t for t, q in parts if not q)
    if "{" not in unquoted:
        return Word(("".join(t for t, _ in parts),), dynamic, False)
    unsure = _BRACE_SEQUENCE.search(unquoted) is not None
    chars = [(c, q) for t, q in parts for c in t]
    values = _brace_expand(chars, [0])
    if values is None:
        return Word(("".join(t for t, _ in parts),), dynamic, True)
    return Word(tuple(values), dynamic, unsure)


def _collect(node: Node, parts: list[tuple[str, bool]]) -> bool:
    """Append ``node``'s text pieces to ``parts``; True if any piece is dynamic."""
    kind = node.type
    text = _text(node)
    if kind in _DYNAMIC:
        parts.append((text, True))
        return True
    if kind == "word":
        start = 0
        for m in _ESCAPE.finditer(text):
            parts.append((text[start:m.start()], False))
            if m.group(1) != "\n":
                parts.append((m.group(1), True))
            start = m.end()
        parts.append((text[start:], False))
        return False
    if kind == "raw_string":
        parts.append((text[1:-1], True))
        return False
    if kind == "ansi_c_string":
        parts.append((_ansi_c(text[2:-1]), True))
        return False
    if kind in ("string", "translated_string"):
        dynamic = False
        for child in node.named_children:
            if child.type == "string_content":
                parts.append((_STRING_ESCAPE.sub(_unescape_in_string, _text(child)), True))
            else:
                dynamic = _collect(child, parts) or dynamic
                parts[-1] = (parts[-1][0], True)
        return dynamic
    if kind == "concatenation":
        dynamic = False
        for child in node.named_children:
            dynamic = _collect(child, parts) or dynamic
        return dynamic
    if kind == "number":
        parts.append((text, False))
        return False
    parts.append((text, True))  # any other construct: keep its text, trust nothing
    return True


def _text(node: Node) -> str:
    raw = node.text
    return raw.decode("utf-8", "replace") if raw is not None else ""


def _unescape_in_string(m: re.Match[str]) -> str:
    return "" if m.group(1) == "\n" else m.group(1)


def _ansi_c(body: str) -> str:
    """Decode the escapes of a ``$'...'`` string as bash does."""
    def one(m: re.Match[str]) -> str:
        esc = m.group(1)
        head = esc[0]
        if head in "xuU":
            return chr(min(int(esc[1:], 16), 0x10FFFF))
        if head.isdigit():
            return chr(int(esc, 8) & 0xFF)
        if head == "c" and len(esc) == 2:
            return chr(ord(esc[1].upper()) ^ 0x40)
        return _ANSI_SIMPLE.get(esc, "\\" + esc)
    return _ANSI_C.sub(one, body)


def _brace_expand(chars: list[tuple[str, bool]], count: list[int]) -> list[str] | None:
    """Bash brace expansion of comma lists on unquoted braces; None past MAX_EXPANSIONS."""
    for start, (c, quoted) in enumerate(chars):
        if c != "{" or quoted:
            continue
        depth, commas, end = 0, [], -1
        for j in range(start, len(chars)):
            c2, q2 = chars[j]
            if q2:
                continue
            if c2 == "{":
                depth += 1
            elif c2 == "}":
                depth -= 1
                if depth == 0:
                    end = j
                    break
            elif c2 == "," and depth == 1:
                commas.append(j)
        if end < 0 or not commas:
            continue
        bounds = [start, *commas, end]
        out: list[str] = []
        for a, b in itertools.pairwise(bounds):
            count[0] += 1
            if count[0] > MAX_EXPANSIONS:
                return None
            sub = _brace_expand(chars[:start] + chars[a + 1:b] + chars[end + 1:], count)
            if sub is None:
                return None
            out.extend(sub)
        return out
    return ["".join(c for c, _ in chars)]
