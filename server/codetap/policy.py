"""Command policy: which ``bash`` commands a task may run alone, only with the user's
approval, or not at all (ARCHITECTURE.md "Tools": ``bash`` is policy-checked).

Configured in ``[policy]`` (see :mod:`codetap.config`)::

    [policy]
    bash = "allow"                  # a command no pattern matches: "allow" | "ask" | "deny"
    deny = ["sudo *", "*rm -rf /*"]
    ask = ["git push*", "npm publish*"]
    allow = ["pytest*"]

Patterns are shell-style wildcards (:mod:`fnmatch`, case-sensitive) matched against the
whole command with surrounding blanks stripped. The first list with a match decides, in
the order deny, ask, allow; a command nothing matches gets ``bash``. A project's
``.codetap/config.toml`` may only tighten the user's policy (:meth:`CommandPolicy.tightened`):
a repository cannot approve commands on its user's behalf.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal

from codetap.errors import ConfigError

Decision = Literal["allow", "ask", "deny"]
DECISIONS: tuple[Decision, ...] = ("allow", "ask", "deny")
_STRICTNESS = {d: i for i, d in enumerate(DECISIONS)}


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the policy says of one command; ``pattern`` is the rule that matched (None:
    the ``bash`` default applied)."""

    decision: Decision
    pattern: str | None = None

    def reason(self) -> str:
        """Why, in words for the model and the user."""
        if self.pattern is None:
            return f'[policy] bash = "{self.decision}"'
        return f"it matches {self.pattern!r} in [policy] {self.decision}"


@dataclass(frozen=True, slots=True)
class CommandPolicy:
    """The ``[policy]`` table. The default allows every command (no approvals)."""

    bash: Decision = "allow"
    deny: tuple[str, ...] = ()
    ask: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()

    def decide(self, command: str) -> Verdict:
        """The verdict for ``command`` (see the module docstring for the order)."""
        text = command.strip()
        for decision, patterns in (("deny", self.deny), ("ask", self.ask),
                                   ("allow", self.allow)):
            for pattern in patterns:
                if fnmatchcase(text, pattern):
                    return Verdict(decision, pattern)  # type: ignore[arg-type]
        return Verdict(self.bash)

    def tightened(self, project: CommandPolicy) -> CommandPolicy:
        """This (user) policy with a project's added: its deny and ask patterns join ours,
        its ``bash`` default applies only if stricter; its allow patterns are ignored."""
        stricter = max(self.bash, project.bash, key=_STRICTNESS.__getitem__)
        # dict.fromkeys: tightening twice by the same project (a config loaded with its
        # repository, then asked for that repository's policy) adds nothing.
        return CommandPolicy(stricter, tuple(dict.fromkeys(self.deny + project.deny)),
                             tuple(dict.fromkeys(self.ask + project.ask)), self.allow)

    @classmethod
    def from_toml(cls, table: Any, where: str) -> CommandPolicy:
        """Build from a parsed ``[policy]`` table; ConfigError naming ``where`` and the key
        for unknown keys or values of the wrong type."""
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [policy] must be a table")
        unknown = set(table) - {"bash", "deny", "ask", "allow"}
        if unknown:
            raise ConfigError(f"{where}: unknown [policy] keys: {', '.join(sorted(unknown))}")
        bash = table.get("bash", "allow")
        if bash not in DECISIONS:
            raise ConfigError(f"{where}: [policy] bash = {bash!r}: expected one of "
                              f"{', '.join(map(repr, DECISIONS))}")
        lists: dict[str, tuple[str, ...]] = {}
        for key in ("deny", "ask", "allow"):
            value = table.get(key, [])
            if not isinstance(value, list) or not all(isinstance(p, str) and p.strip()
                                                      for p in value):
                raise ConfigError(f"{where}: [policy] {key} must be a list of non-empty "
                                  "command patterns")
            lists[key] = tuple(p.strip() for p in value)
        return cls(bash, lists["deny"], lists["ask"], lists["allow"])
