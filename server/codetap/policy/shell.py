"""Command lines parsed with tree-sitter-bash into the simple commands they would run.

:func:`parse` walks the whole syntax tree: pipelines, lists (``;`` ``&&`` ``||`` ``&``),
subshells, ``{ }`` groups, ``if``/``while``/``for``/``case`` bodies, function bodies,
redirections, ``$(...)``, backticks and ``<(...)``/``>(...)`` (their inner commands are
commands too), here-doc bodies. Each simple command found goes through
:func:`codetap.policy.commands.expand` (wrappers, ``bash -c``, ``find -exec``, ...). A line
the shell grammar cannot parse (tree-sitter ERROR or MISSING nodes) adds an
:class:`~codetap.policy.commands.Undecidable`; the commands that did parse are still listed,
so a deny among them still denies.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import tree_sitter_bash
from tree_sitter import Language, Node, Parser

from codetap.policy.commands import MAX_DEPTH, Item, Undecidable, expand
from codetap.policy.words import Word, evaluate

_LANGUAGE = Language(tree_sitter_bash.language())
_LOCAL = threading.local()
# A backslash-newline outside quotes joins lines, even inside a word ("r\<newline>m" is
# "rm"), which the grammar does not model: join them before parsing.
_CONTINUATION = re.compile(r"(?<!\\)((?:\\\\)*)\\\n")
# Leaves: nothing below them can hold a command.
_LEAVES = frozenset({"word", "raw_string", "ansi_c_string", "number", "string_content",
                     "variable_name", "file_descriptor", "heredoc_start", "heredoc_end",
                     "comment", "special_variable_name", "test_operator"})


@lru_cache(maxsize=4096)
def parse(command: str) -> tuple[Item, ...]:
    """Every simple command (normalised) and undecidable part of ``command``, a bash
    command line, in source order. Results are cached per string (the parse is pure)."""
    try:
        return tuple(_parse(command, 0))
    except RecursionError:
        return (Undecidable("commands nested too deeply to follow", _short(command)),)


def _parser() -> Parser:
    parser: Parser | None = getattr(_LOCAL, "parser", None)
    if parser is None:  # a Parser is not safe to share between threads
        parser = _LOCAL.parser = Parser(_LANGUAGE)
    return parser


def _parse(command: str, depth: int) -> list[Item]:
    if depth > MAX_DEPTH:
        return [Undecidable("commands nested too deeply to follow", _short(command))]
    source = _CONTINUATION.sub(r"\1", command)
    root = _parser().parse(source.encode("utf-8", "surrogatepass")).root_node
    items: list[Item] = []
    if root.has_error:
        items.append(Undecidable("the shell grammar cannot parse it", _short(command)))
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "command":
            items.extend(_command(node, depth))
        stack.extend(c for c in reversed(node.named_children) if c.type not in _LEAVES)
    return items


def _command(node: Node, depth: int) -> list[Item]:
    name_node = node.child_by_field_name("name")
    if name_node is None:
        return []
    text = _short(node.text.decode("utf-8", "replace") if node.text else "")
    name = _name_word(name_node)
    if name.dynamic:
        return [Undecidable("the command name is only known at run time", text)]
    if name.unsure or len(name.values) != 1:
        return [Undecidable("the command name is a brace expansion", text)]
    argv = [name.values[0]]
    for arg in node.children_by_field_name("argument"):
        word = evaluate(arg)
        if word.unsure:
            return [Undecidable("a brace expansion bash may expand differently", text)]
        argv.extend(word.values)
    return expand(argv, depth, _parse)


def _name_word(node: Node) -> Word:
    children = node.named_children
    return evaluate(children[0] if len(children) == 1 else node)


def _short(text: str, limit: int = 200) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit - 3] + "..."
