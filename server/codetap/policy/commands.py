"""Simple commands, normalised, and the commands a command runs on its behalf.

:func:`normalise` turns an argv into a :class:`SimpleCommand`: the name without its path
(``/bin/rm`` -> ``rm``), the options as a set (``-r -f`` = ``-rf`` = ``-fr``; a few long
spellings map to their short form, ``rm --recursive`` = ``rm -r``; git's global options such
as ``-C DIR`` are set aside so ``git -C x push`` is ``git push``), the operands in order.

:func:`expand` is what one argv runs: wrappers (``env``, ``command``, ``builtin``, ``exec``,
``nice``, ``nohup``, ``timeout``, ``time``, ``stdbuf``, ``setsid``, ``ionice``, ``xargs``,
``busybox``) are transparent and only the command they run is decided; ``sudo``, ``doas``
and ``su -c`` are decided themselves and also unwrapped; ``sh``/``bash``/``zsh``/``dash``/
``ksh -c STRING`` and ``watch`` parse their string as a command line; ``find`` is decided
with its ``-exec``/``-execdir``/``-ok`` commands, and ``-delete`` counts as
``rm -r -f <find's paths>``. :class:`Undecidable` stands for what cannot be known before it
runs: ``eval``, ``alias``, ``hash -p``, a shell reading commands from its
standard input (a pipe as in ``curl x | sh``, a here-doc, a here-string), a command name
that is computed, globbed or not plain ASCII.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

MAX_DEPTH = 12
_SAFE_NAME = re.compile(r"\[\[?|[A-Za-z0-9_.+:@%,~/-]+")
_GLOB_CHARS = re.compile(r"[*?\[\]]")
_CLUSTER = re.compile(r"-[A-Za-z0-9]+")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*", re.DOTALL)
_SYNONYMS: dict[str, dict[str, str]] = {
    "rm": {"-R": "-r", "--recursive": "-r", "--force": "-f"},
    "cp": {"-R": "-r", "--recursive": "-r"},
    "chmod": {"--recursive": "-R"}, "chown": {"--recursive": "-R"},
    "chgrp": {"--recursive": "-R"},
    "git": {"--force": "-f"},
}
_SINGLE_DASH_LONG = frozenset({"find"})
_GIT_VALUE_OPTIONS = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace",
                                "--config-env", "--super-prefix"})
_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "rbash"})
_STDIN_SCRIPTS = frozenset({"-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"})
_UNDECIDABLE = {"eval": "eval runs a string built at run time",
                "alias": "an alias changes what later words mean"}


@dataclass(frozen=True, slots=True)
class SimpleCommand:
    """One normalised simple command. ``options``: ``-x`` for each short option letter,
    ``--long`` (and ``--long=value`` as written) for long ones; ``args``: the operands in
    order; ``argv``: the words as evaluated, name without its path (not compared)."""

    name: str
    options: frozenset[str]
    args: tuple[str, ...]
    argv: tuple[str, ...] = field(compare=False, default=())

    def text(self) -> str:
        """The command as a shell would quote it, for messages."""
        return shlex.join(self.argv or (self.name, *self.args))

    def canonical(self) -> str:
        """One spelling per equivalent command: ``rm -r -f x`` and ``/bin/rm -fr x`` are
        both ``rm -fr x``."""
        short = "".join(sorted(o[1] for o in self.options if len(o) == 2 and o[0] == "-"))
        long = sorted(o for o in self.options if not (len(o) == 2 and o[0] == "-"))
        words = [self.name] + (["-" + short] if short else []) + long + list(self.args)
        return shlex.join(words)


@dataclass(frozen=True, slots=True)
class Undecidable:
    """A part of a command line no rule can decide before it runs. ``why``: in words;
    ``text``: the part concerned."""

    why: str
    text: str


Item = SimpleCommand | Undecidable
Reparse = Callable[[str, int], list[Item]]


@dataclass(frozen=True, slots=True)
class _Wrapper:
    value_options: frozenset[str] = frozenset()
    positional: int = 0  # operands before the command (timeout's DURATION)
    assignments: bool = False  # env's NAME=VALUE words
    stop: frozenset[str] = frozenset()  # options after which no command runs
    unsure: frozenset[str] = frozenset()  # options that make the command undecidable
    default: tuple[str, ...] = ()  # the command run when none is given (xargs: echo)
    itself: bool = False  # decided itself as well (sudo)


_WRAPPERS = {
    "env": _Wrapper(frozenset({"-u", "--unset", "-C", "--chdir"}), assignments=True,
                    unsure=frozenset({"-S", "--split-string"})),
    "command": _Wrapper(stop=frozenset({"-v", "-V"})),
    "builtin": _Wrapper(),
    "exec": _Wrapper(frozenset({"-a"})),
    "nice": _Wrapper(frozenset({"-n", "--adjustment"})),
    "nohup": _Wrapper(),
    "time": _Wrapper(),
    "timeout": _Wrapper(frozenset({"-s", "--signal", "-k", "--kill-after"}), positional=1),
    "stdbuf": _Wrapper(frozenset({"-i", "-o", "-e", "--input", "--output", "--error"})),
    "setsid": _Wrapper(),
    "ionice": _Wrapper(frozenset({"-c", "-n", "-p", "-P", "-u", "--class", "--classdata"}),
                       stop=frozenset({"-p", "-P", "-u"})),
    "busybox": _Wrapper(),
    "xargs": _Wrapper(frozenset({"-a", "-d", "-E", "-I", "-L", "-n", "-P", "-s", "--arg-file",
                                 "--delimiter", "--max-lines", "--max-args", "--max-procs",
                                 "--max-chars", "--process-slot-var"}), default=("echo",)),
    "sudo": _Wrapper(frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-T", "-U",
                                "--user", "--group", "--chdir", "--host", "--prompt",
                                "--role", "--type", "--other-user", "--close-from"}),
                     stop=frozenset({"-e", "-l", "-v", "-k", "-K", "--edit", "--list"}),
                     itself=True),
    "doas": _Wrapper(frozenset({"-u", "-C"}), itself=True),
}


def normalise(argv: Sequence[str]) -> SimpleCommand:
    """The :class:`SimpleCommand` of ``argv`` (non-empty; see the module docstring)."""
    name = argv[0].rstrip("/").rsplit("/", 1)[-1] or argv[0]
    words = list(argv[1:])
    options: set[str] = set()
    synonyms = _SYNONYMS.get(name, {})
    if name == "git":
        i = 0
        while i < len(words) and words[i].startswith("-") and words[i] != "--":
            options.add(words[i].split("=", 1)[0])
            i += 2 if words[i] in _GIT_VALUE_OPTIONS else 1
        words = words[i:]
    args: list[str] = []
    operands_only = False
    for w in words:
        if operands_only or w == "-" or not w.startswith("-"):
            args.append(w)
        elif w == "--":
            operands_only = True
        elif w.startswith("--") or name in _SINGLE_DASH_LONG or not _CLUSTER.fullmatch(w):
            key = w.split("=", 1)[0]
            options.add(synonyms.get(key, key))
            if key != w:
                options.add(w)
        else:
            options.update(synonyms.get("-" + c, "-" + c) for c in w[1:])
    return SimpleCommand(name, frozenset(options), tuple(args), (name, *argv[1:]))


def expand(argv: Sequence[str], depth: int, reparse: Reparse) -> list[Item]:
    """The items ``argv`` stands for (see the module docstring). ``reparse(text, depth)``
    parses a string a shell runs (``bash -c``) at the next depth."""
    text = shlex.join(argv)
    if depth > MAX_DEPTH:
        return [Undecidable("commands nested too deeply to follow", text)]
    if not _SAFE_NAME.fullmatch(argv[0]):
        why = ("the command name is not plain ASCII (a look-alike?)" if not argv[0].isascii()
               else "the command name is a glob pattern" if _GLOB_CHARS.search(argv[0])
               else "the command name is only known at run time")
        return [Undecidable(why, text)]
    name = argv[0].rstrip("/").rsplit("/", 1)[-1] or argv[0]
    if name == ".":
        # `. file` is `source file`: running a file's commands, like `bash file`, decided
        # by its path (the shipped policy asks for files outside the worktree).
        return [normalise(["source", *argv[1:]])]
    if name in _UNDECIDABLE:
        return [Undecidable(_UNDECIDABLE[name], text)]
    if name == "hash" and any(w.startswith("-") and "p" in w for w in argv[1:]):
        return [Undecidable("hash -p changes which program a name runs", text)]
    if name in _SHELLS:
        return _shell(argv, depth, reparse, text)
    if name == "watch":
        rest = _after_options(argv, _Wrapper(frozenset({"-n", "-d", "--interval"})))
        return reparse(" ".join(rest), depth + 1) if rest else [normalise(argv)]
    if name == "su":
        found = _option_value(argv, ("-c", "--command"))
        return [normalise(argv)] + (reparse(found, depth + 1) if found is not None else [])
    if name == "trap":
        return _trap(argv, depth, reparse)
    if name == "find":
        return _find(argv, depth, reparse)
    spec = _WRAPPERS.get(name)
    if spec is None:
        return [normalise(argv)]
    inner = _after_options(argv, spec)
    items: list[Item] = [normalise(argv)] if spec.itself else []
    if inner is None:
        return items + [Undecidable(f"{name}'s options hide the command it runs", text)]
    if not inner and not spec.default:
        return items or [normalise(argv)]
    return items + expand(inner or list(spec.default), depth + 1, reparse)


def _after_options(argv: Sequence[str], spec: _Wrapper) -> list[str] | None:
    """The wrapped argv after ``spec``'s options ([] when none runs); None if undecidable."""
    i = 1
    while i < len(argv):
        w = argv[i]
        if w == "--":
            i += 1
            break
        if spec.assignments and _ASSIGNMENT.fullmatch(w):
            i += 1
            continue
        if not w.startswith("-") or w == "-":
            break
        key = w.split("=", 1)[0] if w.startswith("--") else w[:2]
        if key in spec.unsure:
            return None
        if key in spec.stop:
            return []
        i += 2 if w in spec.value_options else 1
    return list(argv[i + spec.positional:])


def _option_value(argv: Sequence[str], names: tuple[str, ...]) -> str | None:
    for i, w in enumerate(argv[1:-1], start=1):
        if w in names:
            return argv[i + 1]
    return None


def _shell(argv: Sequence[str], depth: int, reparse: Reparse, text: str) -> list[Item]:
    """``bash [options] [-c STRING | SCRIPT | (stdin)]``."""
    i, command_string, from_stdin = 1, False, False
    while i < len(argv):
        w = argv[i]
        if w in ("--", "-"):
            i += w == "--"
            break
        if w.startswith("--"):
            i += 2 if w in ("--rcfile", "--init-file") else 1
            continue
        if len(w) < 2 or w[0] not in "-+":
            break
        command_string = command_string or (w[0] == "-" and "c" in w)
        from_stdin = from_stdin or "s" in w
        i += 2 if ("o" in w or "O" in w) else 1
    operands = argv[i:]
    if command_string:
        if not operands:
            return [Undecidable("a shell -c without a command", text)]
        return reparse(operands[0], depth + 1)
    if operands and operands[0].startswith(("<(", "$", "`")):
        return [Undecidable("a shell running a script only known at run time", text)]
    if from_stdin or not operands or operands[0] in _STDIN_SCRIPTS:
        return [Undecidable("a shell reading commands from its standard input (a pipe, "
                            "here-doc or here-string)", text)]
    return [normalise(argv)]


def _trap(argv: Sequence[str], depth: int, reparse: Reparse) -> list[Item]:
    operands = [w for w in argv[1:] if not w.startswith("-")]
    items: list[Item] = [normalise(argv)]
    if len(operands) >= 2:  # trap ACTION SIGNAL...: ACTION runs later as a command line
        items += reparse(operands[0], depth + 1)
    return items


def _find(argv: Sequence[str], depth: int, reparse: Reparse) -> list[Item]:
    items: list[Item] = [normalise(argv)]
    paths = []
    for w in argv[1:]:
        if w.startswith(("-", "(", "!")):
            break
        paths.append(w)
    i = 1
    while i < len(argv):
        if argv[i] in ("-exec", "-execdir", "-ok", "-okdir"):
            j = i + 1
            while j < len(argv) and argv[j] not in (";", "+"):
                j += 1
            if j > i + 1:
                items += expand(argv[i + 1:j], depth + 1, reparse)
            i = j
        elif argv[i] == "-delete":
            items.append(normalise(["rm", "-r", "-f", *(paths or ["."])]))
        i += 1
    return items
