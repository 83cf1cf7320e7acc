"""``[store] synchronous``: the database's durability setting, from the config to SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from codetap.config import Config
from codetap.errors import ConfigError, StoreError
from codetap.store import Store

# PRAGMA synchronous reads back as a number: 1 NORMAL, 2 FULL.
LEVELS = {"normal": 1, "full": 2}


@pytest.mark.parametrize("setting", ["normal", "full"])
async def test_store_opens_with_the_setting(tmp_path: Path, setting: str) -> None:
    store = await Store.open(tmp_path / "db.sqlite", setting)
    try:
        level = store._w.execute("PRAGMA synchronous").fetchone()[0]
        mode = store._w.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        await store.close()
    assert (level, mode) == (LEVELS[setting], "wal")


async def test_an_unknown_setting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="synchronous"):
        await Store.open(tmp_path / "db.sqlite", "off")


def test_config_key(xdg: Path) -> None:
    user = xdg / "config" / "codetap" / "config.toml"
    user.parent.mkdir(parents=True, exist_ok=True)
    assert Config.load().store_synchronous == "normal"
    user.write_text('[store]\nsynchronous = "full"\n')
    assert Config.load().store_synchronous == "full"
    user.write_text('[store]\nsynchronous = "off"\n')
    with pytest.raises(ConfigError, match="store.synchronous"):
        Config.load()

