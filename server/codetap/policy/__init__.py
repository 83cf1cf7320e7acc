"""Command policy: which ``bash`` commands a task may run alone, only with the user's
approval, or not at all (ARCHITECTURE.md "Trust and safety").

- :mod:`codetap.policy.shell` parses a command line (tree-sitter-bash) into the simple
  commands it would run;
- :mod:`codetap.policy.commands` normalises them and follows wrappers (``env``, ``sudo``,
  ``bash -c``, ``find -exec``, ...);
- :mod:`codetap.policy.patterns` is the pattern syntax of ``[policy]`` lists;
- :mod:`codetap.policy.rules` decides (:class:`CommandPolicy`, :class:`Verdict`), with the
  shipped rules of ``default_policy.toml``.
"""

from codetap.policy.rules import DECISIONS, CommandPolicy, Decision, Unattended, Verdict

__all__ = ["DECISIONS", "CommandPolicy", "Decision", "Unattended", "Verdict"]
