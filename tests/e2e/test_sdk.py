"""The Python SDK against the real daemon: every method, errors as codetap classes,
large events as references, a reconnect mid-stream without gaps or duplicates, and the
examples of docs/sdk.md."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from tests.e2e.conftest import CALC, FIXED, Env, session_lines, write_config

import codetap
from codetap.daemon.control import stop
from codetap.errors import ConfigError
from codetap.sdk.errors import RequestError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"
BIG = "x" * 100 + "\n"


@pytest.fixture
def senv(env: Env, tmp_path: Path, xdg: Path) -> Env:
    ask = [{"tool_calls": [{"name": "ask", "arguments": {"question": "go?"}}]},
           *session_lines()]
    big = [{"text": BIG * 2000, "tool_calls": [{"name": "read", "arguments": {
        "path": "calc.py"}}]}, *session_lines()]
    many = [{"tool_calls": [{"name": "read", "arguments": {"path": "calc.py"}}]}
            for _ in range(12)]
    write_config(xdg, tmp_path, {"fast": session_lines(0), "slow": session_lines(700),
                                 "asks": ask, "big": big,
                                 "many": [*[{**t, "delay_ms": 150} for t in many],
                                          *session_lines()]})
    return env


async def test_every_method(senv: Env) -> None:
    async with codetap.connect() as c:
        t = await c.start("fix add", repo=senv.repo)
        assert t.state in ("queued", "running") and (await c.get(t.id)).id == t.id
        done = await c.wait(t.id)
        assert done.state == "ready" and [x.id for x in await c.list(repo=senv.repo)] == [t.id]
        assert [x.id for x in await c.list(states=["failed"])] == []
        res = await c.result(t.id)
        assert res.ok and res.summary == "add now adds" and "+    return a + b" in res.diff
        assert (await c.event(t.id, 1)).kind == "state"
        applied = await c.apply(t.id)
        assert (applied.applied, applied.conflicts) == (1, 0)
        assert (senv.repo / "calc.py").read_text() == FIXED
        assert (await c.get(t.id)).state == "applied"

        slow = await c.start("fix add", repo=senv.repo, model="slow")
        assert (await c.pause(slow.id)).state in ("paused", "running")
        await c.wait(slow.id, until={"paused"})
        assert (await c.rollback(slow.id, 0)).state == "paused"
        await c.resume(slow.id)
        assert (await c.cancel(slow.id)).state == "cancelled"

        asks = await c.start("fix add", repo=senv.repo, model="asks")
        await c.wait(asks.id, until={"waiting"})
        await c.answer(asks.id, "yes")
        assert (await c.wait(asks.id)).state == "ready"
        assert (await c.discard(asks.id)).state == "discarded"
        with pytest.raises(codetap.TaskNotFound) as nf:
            await c.get(999)
        assert nf.value.task_id == 999
        with pytest.raises(codetap.InvalidTransition):
            await c.pause(asks.id)
        with pytest.raises(ConfigError):
            await c.start("x", repo=senv.repo, model="nope")
        try:
            info = await c.message(t.id, "and also mul")
        except RequestError as exc:  # the daemon has no codetap/task/message yet
            assert exc.code == -32601
        else:
            assert info.id == t.id


async def test_large_event_arrives_partial_and_full_fetches_it(senv: Env) -> None:
    async with codetap.connect() as c:
        t = await c.start("cat", repo=senv.repo, model="big")
        live = [e async for e in c.events(t.id)]
        replay = [e async for e in c.events(t.id, follow=False)]
        fetched = await next(e for e in live if e.partial).full()
    for events in (live, replay):
        big = [e for e in events if e.kind == "model_turn" and e.partial]
        assert len(big) == 1  # the ~200 KB model text
        ref = big[0].data["message"]["content"]
        assert ref["bytes"] > 64 * 1024 and ref["preview"].startswith("x" * 100)
    async with codetap.connect() as c:
        whole = await c.event(t.id, big[0].seq)
        assert not whole.partial and len(whole.data["message"]["content"]) > 190_000
        assert fetched.data == whole.data


async def test_reconnect_mid_stream_no_gap_no_duplicate(senv: Env) -> None:
    async with codetap.connect() as c:
        t = await c.start("read a lot", repo=senv.repo, model="many")
        seqs: list[int] = []
        restarted = False
        async for ev in c.events(t.id):
            seqs.append(ev.seq)
            if not restarted and ev.kind == "tool_result":
                restarted = True
                # the daemon goes away mid-task; events() brings one back and resumes
                await asyncio.to_thread(stop, senv.paths)
        assert restarted
        journal = [e.seq async for e in c.events(t.id, follow=False)]
        assert seqs == journal == list(range(1, len(journal) + 1))
        kinds = [e.data.get("to") async for e in c.events(t.id, follow=False)
                 if e.kind == "state"]
        assert "interrupted" in kinds and kinds[-1] == "ready"


def test_run_sync_and_run(senv: Env) -> None:
    res = codetap.run_sync("fix add", repo=senv.repo)
    assert res.state == "ready" and "+    return a + b" in res.diff

    async def stream() -> list[object]:
        return [x async for x in codetap.run("fix add", repo=senv.repo)]

    items = asyncio.run(stream())
    assert isinstance(items[-1], codetap.TaskResult) and items[-1].state == "ready"
    events = [x for x in items[:-1] if isinstance(x, codetap.Event)]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


def test_docs_examples_run(senv: Env) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert len(blocks) >= 4
    for block in blocks:
        (senv.repo / "calc.py").write_text(CALC)
        exec(compile(block, str(DOCS), "exec"), {"REPO": senv.repo})  # noqa: S102
