"""Following a task from the terminal: its journal as readable lines, questions, signals.

Used by ``run``, ``follow`` (``log -f``) and ``continue``. The task runs in the daemon;
this process only watches. Ctrl-C, SIGTERM, SIGHUP and a closed stdout pipe end the
watching, never the task: the user is told on stderr how to follow or stop it (exit 4).
With ``stop_on_interrupt``, Ctrl-C pauses the task instead. A question or approval is
asked on the terminal when stdin is one, else printed with the command that answers it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import sys
from typing import TYPE_CHECKING, Any

from codetap.cli.output import EXIT_UNFINISHED, note, out, state_exit

if TYPE_CHECKING:
    from codetap.protocol.models import TaskInfo
    from codetap.sdk.client import Client
    from codetap.sdk.models import Event

STOP = frozenset({"ready", "failed", "cancelled", "applied", "discarded", "paused"})


class Follower:
    """Renders events of task ``task_id`` and handles its questions."""

    def __init__(self, client: Client, task_id: str, *, quiet: bool = False) -> None:
        self.client, self.task_id, self.quiet = client, task_id, quiet
        self.question: tuple[str, list[str] | None] | None = None
        self._asking: asyncio.Task[None] | None = None

    def show(self, ev: Event) -> None:
        """Print one event (tool calls, model text, role, state changes)."""
        d = ev.data
        if ev.kind == "tool_intent" and d.get("name") == "ask":
            args = d.get("arguments") or {}
            self.question = (str(args.get("question", "")), args.get("options"))
        elif ev.kind == "approval" and d.get("answer") is None:
            self.question = (f"Run `{d.get('command')}`?", ["yes", "no"])
        if self.quiet:
            if ev.kind == "state" and d.get("to") == "waiting":
                self._ask()
            return
        if ev.kind == "state":
            reason = f" ({d['reason']})" if d.get("reason") else ""
            out(f"task {self.task_id}: {d.get('from')} -> {d.get('to')}{reason}")
            if d.get("to") == "waiting":
                self._ask()
        elif ev.kind == "model_turn":
            msg = d.get("message") or {}
            text = str(msg.get("content") or "").strip()
            if text:
                who = d.get("role") or msg.get("name")
                out(f"{'[' + str(who) + '] ' if who else ''}{text[:2000]}")
        elif ev.kind == "tool_intent":
            args = json.dumps(d.get("arguments"), ensure_ascii=False)
            out(f"  {d.get('name')} {args[:110]}")
        elif ev.kind == "tool_result" and d.get("is_error"):
            output = d.get("output")
            text = output.get("preview", "") if isinstance(output, dict) else str(output)
            out(f"    {text[:160]}")
        elif ev.kind in ("stage", "role", "progress"):
            out(f"{ev.kind}: {json.dumps(d, ensure_ascii=False)[:160]}")
        else:
            line = entry_line(ev.kind, d)
            if line is not None:
                out(line)

    def _ask(self) -> None:
        if self.question is None:
            self._asking = asyncio.ensure_future(self._ask_daemon())
            return
        question, options = self.question
        tid = self.task_id
        choices = f" [{' / '.join(options)}]" if options else ""
        if sys.stdin.isatty():
            self._asking = asyncio.ensure_future(self._prompt(f"{question}{choices} "))
            return
        out(f"task {tid} asks: {question}{choices}")
        if options:
            for opt in options:
                out(f"  answer with: codetap answer {tid} {shlex.quote(opt)}")
        else:
            out(f"  answer with: codetap answer {tid} {shlex.quote('your answer')}")

    async def _ask_daemon(self) -> None:
        """A question the journal does not show before it is answered (a plan to approve):
        the daemon's ``TaskInfo.waiting`` (:func:`codetap.waits.ask_reason`) says it."""
        waiting = None
        for _ in range(50):  # the question reaches the daemon's front just after the state
            info = await self.client.get(self.task_id)
            if info.state != "waiting" or info.waiting:
                waiting = info.waiting if info.state == "waiting" else None
                break
            await asyncio.sleep(0.05)
        if not waiting:
            return
        kind, _, question = waiting.partition(": ")
        self.question = (question, ["approve", "reject"] if kind == "approval" else None)
        try:
            self._ask()
        finally:
            self.question = None

    async def _prompt(self, text: str) -> None:
        loop = asyncio.get_running_loop()
        got: asyncio.Future[str] = loop.create_future()

        def readable() -> None:
            data = os.read(sys.stdin.fileno(), 4096).decode(errors="replace")
            if not got.done():
                got.set_result(data)

        sys.stderr.write(text)
        sys.stderr.flush()
        loop.add_reader(sys.stdin.fileno(), readable)
        try:
            answer = (await got).strip()
        finally:
            loop.remove_reader(sys.stdin.fileno())
        from codetap.errors import CodetapError
        try:
            await self.client.answer(self.task_id, answer)
        except CodetapError as exc:  # answered elsewhere meanwhile
            note(f"answer not taken: {exc}")

    def stop_asking(self) -> None:
        if self._asking is not None and not self._asking.done():
            self._asking.cancel()


def entry_line(kind: str, d: dict[str, Any]) -> str | None:
    """One readable line for a ``compaction``, ``verification``, ``system_prompt``,
    ``warning`` or wait (:mod:`codetap.waits`) journal entry (shapes in
    :mod:`codetap.agent.state`, :mod:`codetap.tasks.verify`, :mod:`codetap.tasks.finish`);
    None for other kinds."""
    if kind == "warning":
        return f"warning: {d.get('message', '')}"
    if kind == "system_prompt":
        sources = ", ".join(str(s) for s in d.get("sources") or []) or "role only"
        cuts = f"; cut: {len(d['cuts'])}" if d.get("cuts") else ""
        return (f"system prompt: {int(d.get('chars', 0)):,} chars (instructions: {sources}"
                f"{cuts}; sha256 {str(d.get('sha256', ''))[:12]})")
    if kind == "verification":
        how = "" if d.get("detected_from") in (None, "config") \
            else f", detected from {d['detected_from']}"
        head = f"verify (round {d.get('round')}{how}): `{d.get('command')}`"
        if d.get("passed"):
            return f"{head} passed"
        last = next((ln for ln in reversed(str(d.get("output", "")).splitlines())
                     if ln.strip() and not ln.startswith("[exit code")), "")
        code = "timed out" if d.get("exit_code") is None else f"exit code {d['exit_code']}"
        return f"{head} failed ({code}): {last[:160]}"
    if kind == "compaction":
        return _compaction_line(d)
    if kind in ("waiting_queue", "waiting_budget"):
        return f"waiting: {d.get('reason', '')}"
    if kind == "waiting_over":
        return f"going on after {float(d.get('waited_s', 0.0)):.1f} s ({d.get('reason', '')})"
    return None


def _compaction_line(d: dict[str, Any]) -> str:
    if d.get("layer") == "summary_started":
        return (f"context: summarizing the older conversation with {d.get('model')} "
                f"(~{int(d.get('estimate', 0)):,} tokens)")
    masked = len(d.get("masked") or {})
    parts = [f"{masked} tool result{'' if masked == 1 else 's'} masked"]
    if d.get("layer") == "summary":
        u = d.get("usage") or {}
        parts.append(f"messages before #{d.get('cut')} summarized by {d.get('model')} "
                     f"({u.get('input_tokens', 0):,}+{u.get('output_tokens', 0):,} tokens)")
    lost = d.get("lost_usage")
    if lost:
        parts.append(f"{lost.get('calls')} summary call(s) lost to a restart counted "
                     "again (approximate)")
    if d.get("forced"):
        parts.append("the provider said the prompt was too long")
    return (f"context compacted ({d.get('layer')}): ~{int(d.get('tokens_before', 0)):,} -> "
            f"~{int(d.get('tokens_after', 0)):,} tokens; " + "; ".join(parts))


def summary(info: TaskInfo) -> None:
    """The end-of-task lines: state, steps, tokens, cost, summary, reason, next step."""
    u = info.usage
    out(f"task {info.id}: {info.state} after {info.steps} steps, {u.input_tokens}+"
        f"{u.output_tokens} tokens, ${u.cost_usd:.4f}")
    if info.summary:
        out(f"summary: {info.summary}")
    if info.error:
        out(f"reason: {info.error}")
    if info.state == "ready":
        out(f"see the change: codetap diff {info.id}; apply it: codetap apply {info.id}")


def _muted_stdout() -> None:
    """Point stdout at /dev/null: the reader of the pipe is gone, and a later flush (at
    exit) must not raise."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


async def follow(client: Client, task_id: str, *, after: int = 0, quiet: bool = False,
                 stop_on_interrupt: bool = False, as_json: bool = False) -> int:
    """Follow the task until it stops (ready, failed, cancelled, paused ...); the exit code.

    Signals and a closed stdout end the following (exit 4), not the task."""
    loop = asyncio.get_running_loop()
    me = asyncio.current_task()
    caught: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        def on_signal(s: int = sig) -> None:
            caught.append(s)
            if me is not None:
                me.cancel()
        loop.add_signal_handler(sig, on_signal)
    follower = Follower(client, task_id, quiet=quiet or as_json)
    try:
        async for ev in client.events(task_id, after=after, until=STOP):
            follower.show(ev)
        follower.stop_asking()
        info = await client.get(task_id)
        if as_json:
            out(json.dumps(info.model_dump(mode="json", exclude_none=True), indent=2,
                           ensure_ascii=False))
        else:
            summary(info)
        return state_exit(info.state)
    except asyncio.CancelledError:
        if not caught:
            raise
        if me is not None:
            me.uncancel()
        follower.stop_asking()
        if caught[0] == signal.SIGINT and stop_on_interrupt:
            info = await client.pause(task_id)
            note(f"task {task_id} {info.state}: resume it with `codetap resume {task_id}`")
            return EXIT_UNFINISHED
        _left_running(task_id)
        return EXIT_UNFINISHED
    except OSError:  # stdout closed (broken pipe) or its terminal hung up
        follower.stop_asking()
        _muted_stdout()
        _left_running(task_id)
        return EXIT_UNFINISHED
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)


def _left_running(task_id: str) -> None:
    note(f"task {task_id} keeps running in the daemon: follow it with "
         f"`codetap follow {task_id}`, stop it with `codetap cancel {task_id}`")
