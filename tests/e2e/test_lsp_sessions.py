"""Several editors on one daemon; editors leaving while tasks run."""

from __future__ import annotations

import asyncio

from tests.e2e.conftest import CALC, Editor, Env, connect


async def test_two_clients_see_the_same_task(env: Env, editor: Editor) -> None:
    other = await connect(env)
    try:
        info = await editor.request("codetap/task/start", {
            "intent": "make add add", "root_uri": env.root_uri, "model": "slow"})
        await other.wait_for(lambda: any(n["id"] == info["id"] for n in
                                         other.notes.get("codetap/task/updated", [])))
        listed = await other.request("codetap/task/list", {"root_uri": env.root_uri})
        assert [t["id"] for t in listed["tasks"]] == [info["id"]]
        await other.wait_for(lambda: other.codetap_diagnostics(env.calc_uri), timeout=30)
        await editor.wait_for(lambda: editor.codetap_diagnostics(env.calc_uri))
    finally:
        await other.client.shutdown_session()
        await other.client.stop()


async def test_disconnect_mid_task_then_new_client_sees_result(env: Env) -> None:
    first = await connect(env)
    info = await first.request("codetap/task/start", {
        "intent": "make add add", "root_uri": env.root_uri, "model": "slow"})
    await first.wait_for(lambda: info["id"] in str(first.notes.get("codetap/task/event")))
    await first.client.shutdown_session()  # the editor quits while the task runs
    await first.client.stop()
    assert (await first.client._server.wait() if first.client._server else 0) == 0
    await asyncio.sleep(2.0)  # the slow turn finishes with nobody connected

    second = await connect(env)
    try:
        got = await second.request("codetap/task/get", {"id": info["id"]})
        assert got["state"] == "ready" and got["summary"] == "add now adds"
        second.open(env.calc_uri, CALC)
        diags = await second.wait_for(lambda: second.codetap_diagnostics(env.calc_uri))
        assert diags[0].range.start.line == 1
    finally:
        await second.client.shutdown_session()
        await second.client.stop()


async def test_task_events_reach_only_clients_that_ask_for_them(env: Env, editor: Editor) -> None:
    stock = await connect(env, {"events": False})
    try:
        info = await editor.request("codetap/task/start", {
            "intent": "make add add", "root_uri": env.root_uri, "model": "slow"})
        await editor.wait_state(info["id"], "ready")
        await stock.wait_for(lambda: any(n["id"] == info["id"] and n["state"] == "ready"
                                         for n in stock.notes.get("codetap/task/updated", [])))
        seqs = [n["seq"] for n in editor.notes.get("codetap/task/event", [])
                if n["id"] == info["id"]]
        assert seqs and seqs == sorted(seqs)
        assert "codetap/task/event" not in stock.notes
    finally:
        await stock.client.shutdown_session()
        await stock.client.stop()


async def test_stdio_flag_that_vscode_languageclient_appends_is_accepted(env: Env) -> None:
    # vscode-languageclient runs `codetap lsp --stdio` for TransportKind.stdio; the shipped
    # extension once crashed five times on exit code 2 from an unknown flag.
    ed = await connect(env, args=("--stdio",))
    try:
        listed = await ed.request("codetap/task/list", {})
        assert listed["tasks"] == []
    finally:
        await ed.client.shutdown_session()
        await ed.client.stop()
