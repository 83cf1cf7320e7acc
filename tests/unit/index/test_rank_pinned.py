"""The ranking of a small generated project, pinned: an optimisation of the ranking or of
the index's tables must not change the order silently.

The project mixes what the ranking treats differently: plain calls, calls through a
receiver (which may mean a method), bare calls (which cannot, in Python), private and
long compound names, and a C file (a language where a bare call may mean a method).
If a change to the ranking is intended, regenerate the pins with :func:`_order_digest`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from codetap.index import SymbolIndex
from codetap.index.rank import rank_definitions

from .project import generated_project, write

EXTRA = {
    "app/models.py": (
        "class Record:\n"
        "    def save(self):\n        return _store(self)\n"
        "    def load(self):\n        return parse_record_text(self)\n\n"
        "def save():\n    return None\n\n"
        "def _store(obj):\n    return helper_0_0(obj)\n\n"
        "def parse_record_text(text):\n    return Record()\n"
    ),
    "app/views.py": (
        "from app.models import Record, save\n\n"
        "def show(r):\n    r.save()\n    r.load()\n    save()\n    return Record()\n\n"
        "def list_all():\n    return [show(x) for x in parse_record_text('')]\n"
    ),
    "native/store.c": (
        "int save(int x) { return x; }\n"
        "int load(int x) { return save(x) + helper(x); }\n"
        "int helper(int x) { return load(x); }\n"
    ),
}

PINNED_TOP = {
    "plain": [
        "pkg/mod_0.py:helper_0_0", "pkg/mod_5.py:helper_5_5", "pkg/mod_1.py:helper_1_5",
        "pkg/mod_4.py:helper_4_1", "pkg/mod_0.py:helper_0_3", "pkg/mod_1.py:helper_1_4",
    ],
    "files": [
        "pkg/mod_0.py:helper_0_0", "app/models.py:parse_record_text", "app/models.py:save",
        "pkg/mod_5.py:helper_5_5", "pkg/mod_5.py:helper_5_3", "app/models.py:load",
    ],
    "names": [
        "app/models.py:save", "native/store.c:save", "pkg/mod_0.py:helper_0_0",
        "pkg/mod_5.py:helper_5_5", "pkg/mod_5.py:helper_5_3", "pkg/mod_3.py:helper_3_1",
    ],
}
# sha256 prefix of the whole order (see _order_digest); equal to the order of the
# straightforward implementation this module replaced.
PINNED_DIGEST = {"plain": "0e858ac5bdf5c51a", "files": "e6919f08cd17514e",
                 "names": "06ac72444bed7523"}
SCENARIOS = {
    "plain": ((), ()),
    "files": (["app/views.py"], ()),
    "names": ((), ["save", "helper_30_3"]),
}


def _order_digest(order: list[tuple[str, str]]) -> str:
    return hashlib.sha256("\n".join(f"{r}:{n}" for r, n in order).encode()).hexdigest()[:16]


@pytest.fixture
def index(root: Path, cache_dir: Path) -> SymbolIndex:
    generated_project(root, modules=30)
    write(root, EXTRA)
    built = SymbolIndex(root, cache_dir)
    built.build()
    return built


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_ranking_is_pinned(index: SymbolIndex, scenario: str) -> None:
    files, names = SCENARIOS[scenario]
    order = rank_definitions(index.name_tables(), files, names)
    assert [f"{r}:{n}" for r, n in order[:6]] == PINNED_TOP[scenario]
    assert _order_digest(order) == PINNED_DIGEST[scenario]
    # The per-file form (tags grouped on the fly) ranks identically.
    assert rank_definitions(index.files(), files, names) == order
    assert len(order) == len(set(order)) == sum(
        len(per_file) for per_file in index.name_tables().defs.values()
    )


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_a_limited_ranking_is_the_prefix_of_the_full_one(index: SymbolIndex, scenario: str) -> None:
    files, names = SCENARIOS[scenario]
    tables = index.name_tables()
    order = rank_definitions(tables, files, names)
    scored = 0
    for limit in (1, 2, 7, 40, 200, len(order) - 1, len(order) + 5):
        assert rank_definitions(tables, files, names, limit=limit) == order[:limit], limit
        scored += 1
    assert scored == 7 and len(order) > 200
