"""Policy patterns: a command line whose words are matched against one normalised simple
command (:class:`codetap.policy.commands.SimpleCommand`).

- The first word matches the command name with :func:`fnmatch.fnmatchcase` (a path is
  dropped: ``/bin/rm`` in a pattern is ``rm``).
- Option words are required, in any order and spelling, others may be present too:
  ``rm -rf`` needs ``-r`` and ``-f``, so it matches ``rm -r -f x``, ``rm -fvr x`` and
  ``rm --recursive --force x``. An option word with wildcards (``--force*``) needs some
  option it matches; ``--opt`` also matches ``--opt=value``.
- The other words match the command's operands one for one, in order, each with
  ``fnmatchcase``; a word ``*`` alone matches any number of operands (none included), so
  ``rm -r * /*`` is "rm -r with some operand starting with /".
- A pattern whose last word ends in ``*`` also matches any further operands. This keeps
  patterns written for whole-string matching working: ``git push*`` matches
  ``git push``, ``git push origin main``; ``rm -rf*`` matches ``rm -rf x``; ``sudo *``
  matches every ``sudo`` command.
- Words are split like a shell would (``'two words'`` is one word). Matching is
  case-sensitive. A word whose value is only known at run time is matched as written:
  ``*$*`` matches an operand such as ``$HOME/x``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache

from codetap.policy.commands import SimpleCommand, normalise

_GLOB = re.compile(r"[*?\[]")
_STARRED_CLUSTER = re.compile(r"-[A-Za-z0-9]+\*")


@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled pattern (see the module docstring). ``source``: as written."""

    source: str
    name: str
    options: tuple[str, ...]
    operands: tuple[str, ...]

    def matches(self, command: SimpleCommand) -> bool:
        """Whether ``command`` matches this pattern."""
        if not fnmatchcase(command.name, self.name):
            return False
        for option in self.options:
            if option in command.options:
                continue
            if _GLOB.search(option):
                if any(fnmatchcase(o, option) for o in command.options):
                    continue
            elif option.startswith("--") and any(o.startswith(option + "=")
                                                 for o in command.options):
                continue
            return False
        return _match_operands(self.operands, 0, command.args, 0)


@lru_cache(maxsize=1024)
def compile_pattern(source: str) -> Pattern:
    """The :class:`Pattern` for ``source``. ValueError (with the reason) for an empty
    pattern or unbalanced quotes."""
    words = shlex.split(source)
    if not words:
        raise ValueError("empty pattern")
    rest = words[-1].endswith("*")
    if len(words) > 1 and words[-1] == "*":
        words.pop()
    words = [w[:-1] if _STARRED_CLUSTER.fullmatch(w) else w for w in words]
    command = normalise(words)
    operands = command.args + (("*",) if rest else ())
    return Pattern(source, command.name, tuple(sorted(command.options)), operands)


@lru_cache(maxsize=256)
def index(sources: tuple[str, ...]) -> tuple[dict[str, tuple[Pattern, ...]], tuple[Pattern, ...]]:
    """``sources`` compiled and indexed: (patterns by literal command name, patterns whose
    name is a wildcard). Lets a command be checked against the few patterns naming it."""
    by_name: dict[str, list[Pattern]] = {}
    wild: list[Pattern] = []
    for source in sources:
        pattern = compile_pattern(source)
        if _GLOB.search(pattern.name):
            wild.append(pattern)
        else:
            by_name.setdefault(pattern.name, []).append(pattern)
    return {k: tuple(v) for k, v in by_name.items()}, tuple(wild)


def first_match(sources: tuple[str, ...], command: SimpleCommand) -> Pattern | None:
    """The first pattern of ``sources`` (literal names before wildcard ones) matching
    ``command``, or None."""
    by_name, wild = index(sources)
    for pattern in by_name.get(command.name, ()):
        if pattern.matches(command):
            return pattern
    for pattern in wild:
        if pattern.matches(command):
            return pattern
    return None


def _match_operands(pats: tuple[str, ...], i: int, args: tuple[str, ...], j: int) -> bool:
    while i < len(pats):
        if pats[i] == "*":
            if i + 1 == len(pats):
                return True
            return any(_match_operands(pats, i + 1, args, k) for k in range(j, len(args) + 1))
        if j >= len(args) or not fnmatchcase(args[j], pats[i]):
            return False
        i, j = i + 1, j + 1
    return j == len(args)
