"""Configuration: where data lives, which models exist, task limits.

Sources, later ones winning key by key (tables are merged, values replaced):
1. built-in defaults;
2. the user file ``$XDG_CONFIG_HOME/codetap/config.toml`` (default ``~/.config``), trusted;
3. the project file ``<repo>/.codetap/config.toml`` when a repository is given
   (:meth:`Config.for_project`). Untrusted (the default) it may only tighten the user's
   settings and everything else in it is ignored with a warning (:mod:`codetap.project`);
   once the user runs ``codetap trust <repo>`` (:mod:`codetap.trust`) it is merged like
   the user's file, ``[policy]`` lists joining the user's.

Tables are checked against :mod:`codetap.config_schema` (pydantic) when read; a wrong
type or unknown key is a ConfigError naming the file and the dotted key. A long-lived
process calls :meth:`Config.reloaded` (two ``stat`` calls) to pick up an edited user file.
Data lives in ``$XDG_DATA_HOME/codetap/`` (default ``~/.local/share``): the database
``codetap.db`` and the task worktrees (ARCHITECTURE.md "Where things live").

Example::

    default_model = "local"

    [models.local]
    provider = "openai"            # openai | anthropic | replay
    model = "qwen2.5-coder:14b"
    base_url = "http://127.0.0.1:11434/v1"
    api_key_env = "OLLAMA_API_KEY" # optional for local servers
    input_price_per_mtok = 0.0
    output_price_per_mtok = 0.0
    context_window = 32768

    [limits]
    max_steps = 60
    max_tokens = 2_000_000
    max_cost_usd = 5.0
    max_wall_s = 3600

    [daemon]
    resume_interrupted = "auto"    # resume tasks a crash interrupted; "manual": on request
    worker_priority = "idle"       # SCHED_IDLE: only CPU nothing else wants; "low": nice +10
    worker_cpus = "auto"           # every CPU but one (kept for the editor); "all"; [2, 3]

    [policy]                       # which bash commands need approval (codetap.policy)
    bash = "allow"                 # a command no pattern matches: allow | ask | deny
    deny = []                      # e.g. ["sudo *"]
    ask = []                       # e.g. ["git push*"]
    allow = []

    [tools]
    bash_timeout_s = 120
    env_passthrough = ["NPM_TOKEN"] # extra variables tools may see (codetap.tools.environment)

    [sandbox]                      # bubblewrap around bash (codetap.tools.sandbox)
    mode = "auto"                  # auto | required | off
    network = "off"

    [verify]                       # run after `finish` (codetap.tasks.verify)
    command = "make check"         # default: detected (pytest, unittest, npm, go, cargo, make)
    max_rounds = 2                 # verification runs before the task ends unverified
    strategy = "full"              # full | changed | none

    [git]                          # remote repositories (codetap.tasks.remote)
    branch_template = "codetap/task-{id}"
    push = false                   # push the task branch when the task is ready
    push_on_failure = false        # ... and when it failed
    [git.hosts."github.com"]
    token_env = "GITHUB_TOKEN"     # else git's credential helpers are used
    api_url = "https://api.github.com"   # pull requests (GitHub Enterprise: .../api/v3)
"""

from __future__ import annotations

import copy
import dataclasses
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codetap.config_schema import ConfigFile, validate
from codetap.errors import ConfigError
from codetap.executor.settings import ExecutorSettings
from codetap.models.base import ModelConfig
from codetap.paths import runtime_dir_from_env
from codetap.policy import CommandPolicy
from codetap.tasks.remote import GitHost, GitSettings
from codetap.tasks.verify import VerifySettings
from codetap.tools.sandbox import SandboxSettings
from codetap.trust import TRUST_FILE

HOW_TO_CONFIGURE = """\
No model is configured. Add one to {path}, for example:

    default_model = "gpt"

    [models.gpt]
    provider = "openai"                 # or "anthropic", or "replay" for a recorded session
    model = "gpt-4.1"
    api_key_env = "OPENAI_API_KEY"      # the environment variable holding the key
    input_price_per_mtok = 2.0
    output_price_per_mtok = 8.0

Local servers (Ollama, vLLM, llama.cpp) use provider = "openai" with
base_url = "http://127.0.0.1:11434/v1" (Ollama's default). Then run
`codetap run "..." --repo PATH --model gpt`, or try `codetap demo`, which needs no model."""

FileStamp = tuple[int, int]  # (st_mtime_ns, st_size); (-1, -1) for a missing file


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-task bounds: steps (model turns), tokens (input+output), cost (USD), wall time (s)."""

    max_steps: int = 60
    max_tokens: int = 2_000_000
    max_cost_usd: float = 5.0
    max_wall_s: float = 3600.0


@dataclass(frozen=True, slots=True)
class Config:
    """Resolved configuration. Build it with :meth:`load`."""

    data_dir: Path
    config_dir: Path
    runtime_dir: Path
    db_path: Path
    store_synchronous: str = "normal"
    store_url: str | None = None
    models: dict[str, ModelConfig] = field(default_factory=dict)
    default_model: str | None = None
    limits: Limits = Limits()
    resume_interrupted: bool = True
    worker_priority: str = "idle"
    worker_cpus: str | tuple[int, ...] = "auto"
    bash_timeout_s: float = 120.0
    lsp: dict[str, Any] = field(default_factory=dict)
    user_config_path: Path = Path()
    policy: CommandPolicy = field(default_factory=CommandPolicy)
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    env_passthrough: tuple[str, ...] = ()
    verify: VerifySettings = field(default_factory=VerifySettings)
    git: GitSettings = field(default_factory=GitSettings)
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)
    warnings: tuple[str, ...] = ()
    user_table: dict[str, Any] = field(default_factory=dict, repr=False)
    stamp: tuple[FileStamp, FileStamp] = ((-1, -1), (-1, -1))

    @property
    def worktrees_dir(self) -> Path:
        return self.data_dir / "worktrees"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @classmethod
    def load(cls, repo: Path | None = None, *, env: dict[str, str] | None = None) -> Config:
        """Read defaults, the user file and (if ``repo``) the project file under the trust
        rules (:meth:`for_project`).

        Raises ConfigError naming the file, the dotted key and the expected type for
        invalid TOML, values of the wrong type and unknown keys.
        """
        env = dict(os.environ) if env is None else env
        home = Path(env.get("HOME", str(Path.home())))
        config_dir = Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "codetap"
        data_dir = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share") / "codetap"
        config = cls._read_user(config_dir / "config.toml", data_dir, config_dir,
                                runtime_dir_from_env(env))
        return config.for_project(repo) if repo is not None else config

    @classmethod
    def _read_user(cls, user_file: Path, data_dir: Path, config_dir: Path,
                   runtime_dir: Path) -> Config:
        # Stamp first: a write racing the read is then seen as a change next time.
        stamp = user_stamp(user_file, config_dir)
        config = cls._from_tables(read_toml(user_file), data_dir, config_dir, runtime_dir,
                                  user_file, lambda _key: user_file)
        return dataclasses.replace(config, stamp=stamp)

    def changed(self) -> bool:
        """Whether the user file or ``trusted.json`` changed (mtime or size) since this
        config was read. Two ``stat`` calls; never raises."""
        return user_stamp(self.user_config_path, self.config_dir) != self.stamp

    def reloaded(self) -> Config:
        """This config if the user's files are unchanged, else the user config read anew
        with the same directories (the daemon calls it at each task start, then
        :meth:`for_project`). Like :meth:`load` without a repository: project settings
        and warnings of ``self`` are not carried over.

        Raises ConfigError if the changed file is invalid; the caller keeps ``self`` then,
        and the next call reads (and reports) the file again until it is fixed.
        """
        if not self.changed():
            return self
        return self._read_user(self.user_config_path, self.data_dir, self.config_dir,
                               self.runtime_dir)

    @classmethod
    def _from_tables(cls, table: dict[str, Any], data_dir: Path, config_dir: Path,
                     runtime_dir: Path, user_file: Path,
                     origin: Callable[[tuple[str, ...]], Path]) -> Config:
        parsed = validate(table, origin)
        raw = copy.deepcopy(table)
        policy = CommandPolicy.from_toml(raw["policy"], str(origin(("policy",)))) \
            if "policy" in raw else CommandPolicy()
        sandbox = SandboxSettings.from_toml(raw["sandbox"], str(origin(("sandbox",)))) \
            if "sandbox" in raw else SandboxSettings()
        config = cls._from_parsed(parsed, data_dir, config_dir, runtime_dir, user_file)
        return dataclasses.replace(config, policy=policy, sandbox=sandbox, user_table=table)

    def for_project(self, repo: Path) -> Config:
        """This (user) config with ``<repo>/.codetap/config.toml`` applied.

        Trusted (``codetap trust``, same file hash): merged like the user file. Untrusted:
        only tightening applies and ``warnings`` gets one entry naming every ignored key
        (:mod:`codetap.project`). Read anew at every call, so a task start sees the file as
        it is then. ConfigError naming the file for invalid TOML or values.
        """
        from codetap.project import ignored_warning, untrusted_overlay
        from codetap.trust import TrustStore

        path = repo / ".codetap" / "config.toml"
        table = read_toml(path)
        if not table:
            return self
        if TrustStore(self.config_dir).is_trusted(repo):
            merged = copy.deepcopy(self.user_table)
            _merge(merged, table, join_lists=("policy",))

            def origin(key: tuple[str, ...]) -> Path:
                return path if _has(table, key) else self.user_config_path

            config = self._from_tables(merged, self.data_dir, self.config_dir,
                                       self.runtime_dir, self.user_config_path, origin)
            return dataclasses.replace(config, stamp=self.stamp)
        config, ignored = untrusted_overlay(self, table, path)
        if not ignored:
            return config
        return dataclasses.replace(
            config, warnings=self.warnings + (ignored_warning(path, repo, ignored),))

    @classmethod
    def _from_parsed(cls, parsed: ConfigFile, data_dir: Path, config_dir: Path,
                     runtime_dir: Path, user: Path) -> Config:
        models = {name: ModelConfig(name=name, **table.model_dump())
                  for name, table in parsed.models.items()}
        store = parsed.store.path
        cpus = parsed.daemon.worker_cpus
        return cls(
            data_dir=data_dir,
            config_dir=config_dir,
            runtime_dir=runtime_dir,
            db_path=Path(store).expanduser() if store else data_dir / "codetap.db",
            store_synchronous=parsed.store.synchronous,
            store_url=parsed.store.url,
            models=models,
            default_model=parsed.default_model,
            limits=Limits(**parsed.limits.model_dump()),
            resume_interrupted=parsed.daemon.resume_interrupted == "auto",
            worker_priority=parsed.daemon.worker_priority,
            worker_cpus=cpus if isinstance(cpus, str) else tuple(cpus),
            bash_timeout_s=float(parsed.tools.bash_timeout_s),
            env_passthrough=tuple(parsed.tools.env_passthrough),
            verify=VerifySettings(**parsed.verify.model_dump()),
            git=GitSettings(**{**parsed.git.model_dump(), "hosts": {
                h: GitHost(**t.model_dump()) for h, t in parsed.git.hosts.items()}}),
            lsp=dict(parsed.lsp),
            executor=ExecutorSettings(**parsed.executor.model_dump()),
            user_config_path=user,
        )

    def model(self, name: str | None) -> ModelConfig:
        """The model called ``name`` (or the default). ConfigError says how to configure one."""
        if name is None:
            name = self.default_model or (next(iter(self.models)) if len(self.models) == 1 else None)
        if name is None:
            raise ConfigError(HOW_TO_CONFIGURE.format(path=self.user_config_path))
        try:
            return self.models[name]
        except KeyError:
            known = ", ".join(sorted(self.models)) or "none"
            raise ConfigError(
                f"unknown model {name!r} (configured: {known}); add [models.{name}] to "
                f"{self.user_config_path}"
            ) from None


def user_stamp(user_file: Path, config_dir: Path) -> tuple[FileStamp, FileStamp]:
    """(mtime_ns, size) of the user config file and of ``trusted.json``."""
    return _stamp(user_file), _stamp(config_dir / TRUST_FILE)


def _stamp(path: Path) -> FileStamp:
    try:
        st = path.stat()
    except OSError:
        return (-1, -1)
    return (st.st_mtime_ns, st.st_size)


def _has(table: dict[str, Any], key: tuple[str, ...]) -> bool:
    node: Any = table
    for part in key:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def read_toml(path: Path) -> dict[str, Any]:
    """The parsed TOML file ({} if absent). ConfigError naming ``path`` for invalid TOML."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _merge(into: dict[str, Any], new: dict[str, Any], *, join_lists: tuple[str, ...] = ()) -> None:
    """Merge ``new`` into ``into``: tables recursively, values replaced; lists under a
    top-level table named in ``join_lists`` are concatenated instead."""
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            if key in join_lists:
                for name, item in value.items():
                    old = into[key].get(name)
                    into[key][name] = old + item if isinstance(old, list) and \
                        isinstance(item, list) else item
            else:
                _merge(into[key], value)
        else:
            into[key] = value
