"""A project's ``.codetap/config.toml`` under the trust rules (ARCHITECTURE.md "Trust and
safety").

An untrusted project file may only make the user's settings stricter:

- ``[policy]``: its ``deny``/``ask`` patterns join the user's, a stricter ``bash`` default
  and ``unattended = "deny"`` apply; its ``allow`` patterns and a looser default do not;
- ``[sandbox]``: a stricter mode, network off, lower process and memory limits;
  no paths added (:meth:`codetap.tools.sandbox.SandboxSettings.tightened`);
- ``[limits]`` and ``[tools] bash_timeout_s``: only lower values;
- ``[verify]``: lower ``max_rounds``/``timeout_s`` and any ``strategy``; never ``command``
  (:meth:`codetap.tasks.verify.VerifySettings.tightened`).

Everything else decides where credentials go or which programs codetap itself starts
(``[models.*]``, ``default_model``, ``[lsp]``, ``[tools] env_passthrough``, ``[store]``,
``[daemon]``, ``[verify] command``) and is ignored. Each ignored key is named, dotted (``models.x.base_url``), in
one warning that also says how to trust the project (``codetap trust PATH``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from codetap.errors import ConfigError
from codetap.policy import DECISIONS, CommandPolicy

if TYPE_CHECKING:
    from codetap.tools.sandbox import SandboxSettings

_STRICTNESS = {d: i for i, d in enumerate(DECISIONS)}


class Tightenable(Protocol):
    """The settings an untrusted project may tighten (:class:`codetap.config.Config` has
    them; this module does not import it, so config may import this one)."""

    @property
    def policy(self) -> CommandPolicy: ...
    @property
    def sandbox(self) -> SandboxSettings: ...
    @property
    def limits(self) -> Any: ...
    @property
    def bash_timeout_s(self) -> float: ...
    @property
    def verify(self) -> Any: ...


_C = TypeVar("_C", bound=Tightenable)


def untrusted_overlay(config: _C, table: dict[str, Any], path: Path) -> tuple[_C, list[str]]:
    """``config`` (a dataclass, e.g. :class:`codetap.config.Config`) tightened by the parsed
    untrusted project ``table`` read from ``path``; also the dotted keys that were ignored.
    ConfigError (naming ``path``) for values of the wrong type in the parts applied."""
    ignored: list[str] = []
    where = str(path)
    policy, sandbox, limits = config.policy, config.sandbox, config.limits
    bash_timeout = config.bash_timeout_s
    verify = config.verify
    for key, value in table.items():
        if key == "policy":
            policy = _tighten_policy(policy, value, where, ignored)
        elif key == "sandbox":
            sandbox, dropped = sandbox.tightened(value, where)
            ignored += dropped
        elif key == "limits":
            limits = _lower_limits(limits, value, where, ignored)
        elif key == "verify":
            verify, dropped = verify.tightened(value, where)
            ignored += dropped
        elif key == "tools" and isinstance(value, dict):
            for name, item in value.items():
                if name == "bash_timeout_s" and _number(item, f"{where}: [tools] {name}") \
                        and float(item) <= bash_timeout:
                    bash_timeout = float(item)
                else:
                    ignored.append(f"tools.{name}")
        else:
            ignored += list(_dotted(key, value))
    replaced = dataclasses.replace(cast(Any, config), policy=policy, sandbox=sandbox,
                                   limits=limits, bash_timeout_s=bash_timeout, verify=verify)
    return cast(_C, replaced), ignored


def ignored_warning(path: Path, repo: Path, ignored: list[str]) -> str:
    """The one warning for an untrusted project's ignored keys."""
    return (f"{path} is not trusted, so these settings in it were ignored: "
            f"{', '.join(ignored)}. Review the file, then run `codetap trust {repo}` to "
            "honour it (it is untrusted again whenever it changes).")


def _tighten_policy(policy: CommandPolicy, value: Any, where: str,
                    ignored: list[str]) -> CommandPolicy:
    project = CommandPolicy.from_toml(value, where)
    if project.allow:
        ignored.append("policy.allow")
    if isinstance(value, dict) and "defaults" in value:
        ignored.append("policy.defaults")
    if isinstance(value, dict) and "bash" in value and \
            _STRICTNESS[project.bash] < _STRICTNESS[policy.bash]:
        ignored.append("policy.bash")
    return policy.tightened(project)


def _lower_limits(limits: Any, value: Any, where: str, ignored: list[str]) -> Any:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [limits] must be a table")
    lowered: dict[str, Any] = {}
    known = {f.name for f in dataclasses.fields(limits)}
    for key, item in value.items():
        if key not in known:
            raise ConfigError(f"{where}: [limits] unknown key {key!r}")
        _number(item, f"{where}: [limits] {key}")
        if item <= getattr(limits, key):
            lowered[key] = type(getattr(limits, key))(item)
        else:
            ignored.append(f"limits.{key}")
    return dataclasses.replace(limits, **lowered)


def _number(value: Any, where: str) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"{where} = {value!r}: expected a non-negative number")
    return True


def _dotted(prefix: str, value: Any) -> Iterator[str]:
    """Leaf keys of a TOML value as dotted paths (``models.x.base_url``)."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _dotted(f"{prefix}.{key}", item)
    else:
        yield prefix
