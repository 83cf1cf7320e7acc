"""The bypass corpus (corpus.toml): every command line gets the decision its case states,
under the policy it names, built from TOML by the same code as a user's ``[policy]``."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from codetap.policy import CommandPolicy

CORPUS = Path(__file__).with_name("corpus.toml")


def load_corpus() -> tuple[dict[str, CommandPolicy], list[tuple[str, str, str]]]:
    """(policies by name, [(policy name, command, decision)])."""
    data: dict[str, Any] = tomllib.loads(CORPUS.read_text(encoding="utf-8"))
    policies = {name: CommandPolicy.from_toml(table, f"{CORPUS}:{name}")
                for name, table in data["policies"].items()}
    cases = [(case["policy"], command, case["decision"])
             for case in data["case"] for command in case["commands"]]
    return policies, cases


POLICIES, CASES = load_corpus()


def test_corpus_is_large_and_covers_every_policy_and_decision() -> None:
    assert len(CASES) >= 60
    assert {(p, d) for p, _, d in CASES} >= {("rm_deny", "deny"), ("rm_deny", "ask"),
                                              ("rm_deny", "allow"), ("allowlist", "allow"),
                                              ("allowlist", "ask"), ("default", "allow"),
                                              ("default", "ask")}
    assert len({(p, c) for p, c, _ in CASES}) == len(CASES), "a command is listed twice"


@pytest.mark.parametrize(("policy", "command", "decision"), CASES,
                         ids=[f"{p}:{d}:{c[:40]!r}" for p, c, d in CASES])
def test_decision(policy: str, command: str, decision: str) -> None:
    verdict = POLICIES[policy].decide(command)
    assert verdict.decision == decision, verdict.reason()
    assert verdict.reason()
