"""Patterns, layering with the shipped default, tightening and [policy] errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from codetap.config import Config
from codetap.errors import ConfigError
from codetap.policy import CommandPolicy, Verdict
from codetap.policy.patterns import compile_pattern
from codetap.policy.rules import shipped_policy
from codetap.policy.shell import parse


def matches(pattern: str, line: str) -> bool:
    [command] = parse(line)
    return compile_pattern(pattern).matches(command)  # type: ignore[arg-type]


@pytest.mark.parametrize(("pattern", "line", "expected"), [
    ("git push*", "git push", True),                 # old whole-string patterns still work
    ("git push*", "git push origin main", True),
    ("git push*", "git pull", False),
    ("rm -rf*", "rm -fr x", True),
    ("rm -rf*", "rm -r x", False),
    ("sudo *", "sudo", True),
    ("pytest*", "pytest -x tests", True),
    ("pytest", "pytest -x", True),                   # extra options are allowed
    ("pytest", "pytest tests", False),               # but not extra operands
    ("rm -r * /*", "rm -r a /etc b", True),          # a lone * is any number of operands
    ("rm -r * /*", "rm -r a b", False),
    ("rsync * *:*", "rsync -a x host:y", True),
    ("git push --force*", "git push --force-with-lease", True),
    ("git push --force", "git push -f", True),       # git's --force is -f
    ("timeout --signal", "timeout --signal=KILL", True),
    ("/bin/rm -rf *", "rm -rf x", True),              # a path in the pattern is dropped
    ("git commit -m 'two words'", "git commit -m 'two words'", True),  # shell-like words
    ("mkfs.* *", "mkfs.ext4 /dev/sda1", True),
])
def test_pattern_syntax(pattern: str, line: str, expected: bool) -> None:
    assert matches(pattern, line) is expected


def test_decide_layers_and_strictness() -> None:
    user = CommandPolicy(bash="ask", deny=("sudo *",), ask=("git push*",),
                         allow=("git *", "sudo ls", "git push origin *"))
    assert user.decide("  sudo ls ") == Verdict("deny", "sudo *")  # deny before allow
    assert user.decide("git push origin main") == Verdict("ask", "git push*")
    assert user.decide("git status") == Verdict("allow", "git *")
    assert user.decide("make") == Verdict("ask")
    assert user.decide("git status; make").decision == "ask"
    # the user's allow overrides the shipped ask; defaults = false drops the shipped rules
    loose = CommandPolicy(allow=("git push origin *",))
    assert loose.decide("git push origin main") == Verdict("allow", "git push origin *")
    assert loose.decide("git push upstream").origin == "the default policy"
    assert CommandPolicy(defaults=False).decide("git push").decision == "allow"
    # undecidable is ask, deny when unmatched commands are denied
    assert CommandPolicy().decide("eval x").decision == "ask"
    assert CommandPolicy(bash="deny").decide("eval x").decision == "deny"


def test_verdict_reason_names_command_and_rule() -> None:
    policy = CommandPolicy(deny=("rm -rf*",))
    reason = policy.decide("ls; /bin/rm -r -f x").reason()
    assert "`rm -r -f x`" in reason and "'rm -rf*'" in reason and "deny" in reason
    reason = CommandPolicy().decide("curl x | sh").reason()
    assert "`sh`" in reason and "standard input" in reason
    reason = CommandPolicy().decide("git push").reason()
    assert "'git push *'" in reason and "default policy" in reason
    assert "runs no command" in CommandPolicy().decide("x=1").reason()
    assert CommandPolicy(bash="ask").decide("make").reason() == (
        '`make` matches no pattern; [policy] bash = "ask"')


def test_shipped_default_asks_and_denies_nothing() -> None:
    shipped = shipped_policy()
    assert shipped.deny == () and shipped.allow == () and len(shipped.ask) > 20
    assert CommandPolicy().decide("git push").decision == "ask"


def test_tightened_only_tightens() -> None:
    user = CommandPolicy("ask", ("curl *",), ("git push*",), ("pytest*",), "ask", False)
    project = CommandPolicy("allow", ("wget *",), ("make*",), ("*",), "deny", True)
    merged = user.tightened(project)
    assert merged == CommandPolicy("ask", ("curl *", "wget *"), ("git push*", "make*"),
                                   ("pytest*",), "deny", False)
    assert merged.tightened(project) == merged
    assert user.tightened(CommandPolicy(bash="deny")).bash == "deny"
    assert CommandPolicy(unattended="deny").tightened(CommandPolicy()).unattended == "deny"
    assert merged.decide("curl x").decision == "deny"
    assert merged.decide("make").decision == "ask"


def test_from_toml_reads_every_key() -> None:
    table = {"bash": "ask", "deny": [" sudo * "], "ask": ["git push *"], "allow": ["ls"],
             "unattended": "deny", "defaults": False}
    assert CommandPolicy.from_toml(table, "f.toml") == CommandPolicy(
        "ask", ("sudo *",), ("git push *",), ("ls",), "deny", False)
    assert CommandPolicy.from_toml({}, "f.toml") == CommandPolicy()


@pytest.mark.parametrize(("table", "message"), [
    ('bash = "maybe"', "[policy] bash = 'maybe'"),
    ('unattended = "never"', "[policy] unattended = 'never'"),
    ('defaults = "yes"', "[policy] defaults = 'yes'"),
    ('deny = "sudo *"', "[policy] deny must be a list"),
    ('ask = [""]', "[policy] ask must be a list"),
    ('allow = [3]', "[policy] allow must be a list"),
    ("""deny = ["rm 'x"]""", "[policy] deny: pattern \"rm 'x\""),
    ('alow = ["x"]', "unknown [policy] keys: alow"),
])
def test_invalid_policy_names_file_and_key(xdg: Path, table: str, message: str) -> None:
    user = xdg / "config" / "codetap"
    user.mkdir(parents=True)
    (user / "config.toml").write_text(f"[policy]\n{table}\n")
    with pytest.raises(ConfigError) as err:
        Config.load()
    assert message in str(err.value) and str(user / "config.toml") in str(err.value)


def test_config_without_policy_uses_the_shipped_default(xdg: Path, tmp_path: Path) -> None:
    config = Config.load()
    assert config.policy == CommandPolicy()
    assert config.policy.decide("pytest -x && git push").decision == "ask"
    assert config.policy.decide("pytest -x && git commit -am wip").decision == "allow"
    repo = tmp_path / "repo"
    (repo / ".codetap").mkdir(parents=True)
    (repo / ".codetap" / "config.toml").write_text(
        '[policy]\nunattended = "deny"\ndeny = ["make *"]\ndefaults = false\n')
    project = Config.load(repo).policy  # an untrusted project: it only tightens
    assert dataclasses.astuple(project)[1:] == (("make *",), (), (), "deny", True)
    assert project.decide("make test").decision == "deny"
    assert project.decide("git push").decision == "ask"
