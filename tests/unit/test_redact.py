"""Known secret values never reach the journal, the model or the logs."""

from __future__ import annotations

import dataclasses
import io
import logging
import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from codetap import redact
from codetap.config import Config
from codetap.models.base import ModelConfig
from codetap.runtime import Runtime
from codetap.types import TaskState
from tests.conftest import make_repo
from tests.unit.agent.test_task_run import session

ENV_SECRET = "sk-test-0123456789abcdef"       # in a credential-looking variable
MODEL_SECRET = "mdl\"quoted\\secret-42"         # named by api_key_env; JSON-escaped in storage


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CODETAP_TEST_API_KEY", ENV_SECRET)
    monkeypatch.setenv("MODEL_CREDS_VAR", MODEL_SECRET)
    redact.reset_for_tests()
    yield
    redact.reset_for_tests()


def test_redact_text_and_json() -> None:
    redact.register_env(["MODEL_CREDS_VAR"])
    assert redact.redact_text(f"key={ENV_SECRET}.") == "key=[redacted $CODETAP_TEST_API_KEY]."
    data = {"out": [f"a {MODEL_SECRET} b"], ENV_SECRET: 1, "n": 3}
    assert redact.redact_json(data) == {"out": ["a [redacted $MODEL_CREDS_VAR] b"],
                                        "[redacted $CODETAP_TEST_API_KEY]": 1, "n": 3}
    clean = {"x": "nothing secret"}
    assert redact.redact_json(clean) is clean
    redact.register({"SHORT": "1234"})
    assert redact.redact_text("1234") == "1234"  # too short to be treated as a secret


def test_log_records_are_redacted() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("codetap.test_redact")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        redact.install_log_filter(logger)
        logger.warning("request with %s failed", ENV_SECRET)
        try:
            raise RuntimeError(f"boom {ENV_SECRET}")
        except RuntimeError:
            logger.exception("crashed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert ENV_SECRET not in text
    assert text.count("[redacted $CODETAP_TEST_API_KEY]") == 2


async def test_secrets_printed_by_a_task_are_absent_from_the_database_file(
        xdg: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"leak.txt": f"{ENV_SECRET}\n{MODEL_SECRET}\n"})
    turns = session(tmp_path / "s.jsonl", [
        {"tool_calls": [{"name": "bash", "arguments": {"command": "cat leak.txt"}}]},
        {"tool_calls": [{"name": "read", "arguments": {"path": "leak.txt"}}]},
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]},
    ])
    model = ModelConfig("replay", "replay", path=str(turns), api_key_env="MODEL_CREDS_VAR")
    config = dataclasses.replace(Config.load(), models={"replay": model},
                                 default_model="replay")
    rt = await Runtime.open(config)
    try:
        task = await rt.wait((await rt.start_task("x", repo)).id)
        assert task.state is TaskState.READY, task.error
        outputs = [e.data["output"] for e in await rt.store.events(task.id)
                   if e.kind == "tool_result" and e.data["name"] in ("bash", "read")]
    finally:
        await rt.close()
    assert len(outputs) == 2
    for output in outputs:
        assert "[redacted $CODETAP_TEST_API_KEY]" in output
        assert "[redacted $MODEL_CREDS_VAR]" in output
    db = config.db_path
    raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    # Large entries are stored zlib-compressed: read every row back, decompressed, too.
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT data FROM events UNION ALL SELECT state FROM checkpoints")
        for (value,) in rows:
            raw += zlib.decompress(value) if isinstance(value, bytes) else value.encode()
    assert b"[redacted $MODEL_CREDS_VAR]" in raw
    for secret in (ENV_SECRET, MODEL_SECRET):
        for form in (secret, secret.replace("\\", "\\\\").replace('"', '\\"')):
            assert form.encode() not in raw
