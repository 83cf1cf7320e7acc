"""Policy decision per command line (parse with tree-sitter-bash + match), over the bypass
corpus (tests/unit/policy/corpus.toml), each line under its stated policy.

Cold: the parse cache is cleared before every call (every decision parses). Warm: the same
line decided again (the per-string parse cache hits, as when a model repeats a command).
Prints p50 / p99 / max in microseconds per run, and the median over runs.

    .venv/bin/python bench/policy_decide.py [--runs 7] [--rounds 20]

Target (issue 15): p50 <= 50 us, p99 <= 500 us (cold).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.unit.policy.test_corpus import load_corpus

from codetap.policy import CommandPolicy
from codetap.policy.shell import parse


def one_run(cases: list[tuple[CommandPolicy, str]], rounds: int, cold: bool) -> list[float]:
    """Microseconds per decision, every case ``rounds`` times."""
    samples: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for policy, command in cases:
            if cold:
                parse.cache_clear()
            start = clock()
            policy.decide(command)
            samples.append((clock() - start) / 1000)
    return samples


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    policies, corpus = load_corpus()
    cases = [(policies[p], command) for p, command, _ in corpus]
    one_run(cases, 2, cold=True)  # warm up imports, the shipped policy, pattern caches
    print(f"{len(cases)} command lines x {args.rounds} rounds, {args.runs} runs")
    for cold in (True, False):
        p50s, p99s, maxes = [], [], []
        for _ in range(args.runs):
            s = one_run(cases, args.rounds, cold)
            p50s.append(pct(s, 0.5))
            p99s.append(pct(s, 0.99))
            maxes.append(max(s))
        label = "cold (parse every call)" if cold else "warm (parse cache hit) "
        print(f"{label}: p50 {statistics.median(p50s):7.1f} us "
              f"[{min(p50s):.1f}..{max(p50s):.1f}]   p99 {statistics.median(p99s):7.1f} us "
              f"[{min(p99s):.1f}..{max(p99s):.1f}]   max {statistics.median(maxes):7.1f} us")


if __name__ == "__main__":
    main()
