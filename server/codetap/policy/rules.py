"""The ``[policy]`` table: which ``bash`` commands a task may run alone, only with the
user's approval, or not at all (ARCHITECTURE.md "Trust and safety").

Configured in ``[policy]`` (see :mod:`codetap.config`)::

    [policy]
    bash = "allow"          # a command no pattern matches: "allow" | "ask" | "deny"
    deny = ["sudo *"]
    ask = ["git push *", "npm publish *"]
    allow = ["pytest *"]
    unattended = "ask"      # "deny": with nobody to ask, ask is deny
    defaults = true         # false: drop the shipped rules (default_policy.toml)

How a command line is decided:

1. It is parsed (:mod:`codetap.policy.shell`) into simple commands, each normalised, and
   undecidable parts (``eval``, ``curl x | sh``, ``$CMD``, a parse error, ...).
2. Each simple command is decided on its own. Patterns (syntax:
   :mod:`codetap.policy.patterns`) are tried in layers, the first match deciding: the
   user's ``deny``, ``ask``, ``allow`` (with a project's ``deny`` and ``ask`` added), then
   the shipped default's ``deny``, ``ask``, ``allow`` unless ``defaults = false``. So a
   user's ``allow = ["git push origin *"]`` overrides the shipped "ask before git push",
   a user's ``deny`` always wins. A command no pattern matches gets ``bash``.
3. An undecidable part is ``ask`` (``deny`` when ``bash = "deny"``).
4. The strictest decision over all parts wins (deny > ask > allow): the line is allowed
   only when every command in it is. A line that runs no command is allowed.

The shipped default (``default_policy.toml``, read by the same code) asks before
destructive or outward-facing commands and denies nothing; it applies when the user's config
has no ``[policy]`` and under a user's ``[policy]`` unless ``defaults = false``.

A project's ``.codetap/config.toml`` may only tighten (:meth:`CommandPolicy.tightened`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from codetap.errors import ConfigError
from codetap.policy.commands import SimpleCommand, Undecidable
from codetap.policy.patterns import compile_pattern, first_match
from codetap.policy.shell import parse

Decision = Literal["allow", "ask", "deny"]
DECISIONS: tuple[Decision, ...] = ("allow", "ask", "deny")
Unattended = Literal["ask", "deny"]
_STRICTNESS = {d: i for i, d in enumerate(DECISIONS)}
_KEYS = frozenset({"bash", "deny", "ask", "allow", "unattended", "defaults"})
_LIST_ORDER: tuple[Decision, ...] = ("deny", "ask", "allow")
DEFAULT_POLICY_FILE = "default_policy.toml"
_NOTHING = "nothing to run"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the policy says of a command line. ``pattern``: the rule that matched (None:
    the ``bash`` default, an undecidable part, or nothing to run); ``command``: the simple
    command (or part) that decided; ``origin``: ``"[policy]"`` or ``"the default policy"``;
    ``why``: set when the part was undecidable. Only decision and pattern compare."""

    decision: Decision
    pattern: str | None = None
    command: str | None = field(default=None, compare=False)
    origin: str = field(default="[policy]", compare=False)
    why: str | None = field(default=None, compare=False)

    def reason(self) -> str:
        """Why, in words for the model and the user (names the command and the rule)."""
        cmd = f"`{_short(self.command)}`" if self.command is not None else "the command"
        if self.why is not None:
            return f"{cmd} cannot be decided before it runs: {self.why}"
        if self.origin == _NOTHING:
            return f"{cmd} runs no command"
        if self.pattern is not None:
            return f"{cmd} matches {self.pattern!r} in {self.origin} {self.decision}"
        if self.command is None:
            return f'[policy] bash = "{self.decision}"'
        return f'{cmd} matches no pattern; [policy] bash = "{self.decision}"'


@dataclass(frozen=True, slots=True)
class CommandPolicy:
    """The ``[policy]`` table (see the module docstring). ``CommandPolicy()`` is the policy
    of a user without ``[policy]``: allow what the shipped default does not ask about."""

    bash: Decision = "allow"
    deny: tuple[str, ...] = ()
    ask: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    unattended: Unattended = "ask"
    defaults: bool = True

    def decide(self, command: str) -> Verdict:
        """The verdict for ``command``, a bash command line (strictest over its parts)."""
        best: Verdict | None = None
        for item in parse(command):
            verdict = self._decide_item(item)
            if best is None or _STRICTNESS[verdict.decision] > _STRICTNESS[best.decision]:
                best = verdict
                if verdict.decision == "deny":
                    break
        if best is None:
            return Verdict("allow", command=command.strip(), origin=_NOTHING)
        return best

    def _decide_item(self, item: SimpleCommand | Undecidable) -> Verdict:
        if isinstance(item, Undecidable):
            decision: Decision = "deny" if self.bash == "deny" else "ask"
            return Verdict(decision, command=item.text, why=item.why)
        layers: list[tuple[str, CommandPolicy]] = [("[policy]", self)]
        if self.defaults:
            layers.append(("the default policy", shipped_policy()))
        for origin, layer in layers:
            for decision in _LIST_ORDER:
                found = first_match(getattr(layer, decision), item)
                if found is not None:
                    return Verdict(decision, found.source, item.text(), origin)
        return Verdict(self.bash, command=item.text())

    def tightened(self, project: CommandPolicy) -> CommandPolicy:
        """This (user) policy with a project's added: its deny and ask patterns join ours,
        its ``bash`` default applies only if stricter, ``unattended = "deny"`` wins; its
        allow patterns and its ``defaults`` are ignored."""
        stricter = max(self.bash, project.bash, key=_STRICTNESS.__getitem__)
        unattended: Unattended = "deny" if "deny" in (self.unattended,
                                                      project.unattended) else "ask"
        # dict.fromkeys: tightening twice by the same project (a config loaded with its
        # repository, then asked for that repository's policy) adds nothing.
        return CommandPolicy(stricter, tuple(dict.fromkeys(self.deny + project.deny)),
                             tuple(dict.fromkeys(self.ask + project.ask)), self.allow,
                             unattended, self.defaults)

    @classmethod
    def from_toml(cls, table: Any, where: str) -> CommandPolicy:
        """Build from a parsed ``[policy]`` table. ConfigError naming ``where`` and the key
        for unknown keys, values of the wrong type and patterns that do not parse."""
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [policy] must be a table")
        unknown = set(table) - _KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown [policy] keys: {', '.join(sorted(unknown))}")
        bash = table.get("bash", "allow")
        if bash not in DECISIONS:
            raise ConfigError(f"{where}: [policy] bash = {bash!r}: expected one of "
                              f"{', '.join(map(repr, DECISIONS))}")
        unattended = table.get("unattended", "ask")
        if unattended not in ("ask", "deny"):
            raise ConfigError(f"{where}: [policy] unattended = {unattended!r}: expected "
                              "'ask' or 'deny'")
        defaults = table.get("defaults", True)
        if not isinstance(defaults, bool):
            raise ConfigError(f"{where}: [policy] defaults = {defaults!r}: expected true or "
                              "false")
        lists = {key: _patterns(table.get(key, []), key, where) for key in _LIST_ORDER}
        return cls(bash, lists["deny"], lists["ask"], lists["allow"], unattended, defaults)


def _patterns(value: Any, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(p, str) and p.strip()
                                              for p in value):
        raise ConfigError(f"{where}: [policy] {key} must be a list of non-empty command "
                          "patterns")
    for source in value:
        try:
            compile_pattern(source.strip())
        except ValueError as exc:
            raise ConfigError(f"{where}: [policy] {key}: pattern {source!r}: {exc}") from None
    return tuple(p.strip() for p in value)


@lru_cache(maxsize=1)
def shipped_policy() -> CommandPolicy:
    """The shipped default rules (``default_policy.toml`` in this package)."""
    resource = resources.files("codetap.policy").joinpath(DEFAULT_POLICY_FILE)
    table = tomllib.loads(resource.read_text(encoding="utf-8"))
    return CommandPolicy.from_toml(table.get("policy"), f"codetap/policy/{DEFAULT_POLICY_FILE}")


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."
