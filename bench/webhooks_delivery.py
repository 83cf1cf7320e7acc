"""Webhook delivery: 1,000 messages from the outbox to a loopback receiver.

Each run opens a fresh database, enqueues N messages (as the runtime does: rows written in
one transaction, the delivery loop woken), and lets :class:`codetap.webhooks.delivery.
Deliverer` send them, signed, to a receiver in the same process that verifies every
signature with ``standardwebhooks``. Reports throughput (messages/s, enqueue of the first
to delivery of the last) and p50/p99 enqueue-to-delivered latency from the outbox rows.

    .venv/bin/python bench/webhooks_delivery.py [--n 1000] [--runs 5] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.webhook_receiver import Receiver, new_secret

from codetap.store import Store
from codetap.store import outbox as ob
from codetap.webhooks.delivery import Deliverer
from codetap.webhooks.messages import new_id
from codetap.webhooks.settings import Delivery


async def one_run(n: int, concurrency: int) -> tuple[float, float, float]:
    secret = new_secret()
    body = json.dumps({"type": "task.status", "timestamp": "2026-11-28T00:00:00.000Z",
                       "data": {"id": "1", "intent": "x" * 200, "state": "running"}})
    with tempfile.TemporaryDirectory() as d:
        store = await Store.open(Path(d) / "codetap.db")
        async with Receiver(secret) as r:
            sender = Deliverer(store, lambda: Delivery(concurrency=concurrency))
            sender.start()
            t0 = time.time()
            rows = [(new_id(), 1, "task.status", r.url, secret, body, t0, t0) for _ in range(n)]
            ob.add(store, rows)
            sender.wake()
            await r.wait_for(lambda r: len(r.hits) >= n, timeout=120)
            while ob.next_due(store) is not None or sender._inflight:
                await asyncio.sleep(0.005)  # rows still being marked delivered
            await sender.close()
            assert all(h.verified for h in r.hits)
        lat = [(x.delivered_at or 0) - x.created for x in ob.listing(store, limit=n)]
        end = max(x.delivered_at or 0 for x in ob.listing(store, limit=n))
        await store.close()
    lat.sort()
    return n / (end - t0), lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99) - 1] * 1000


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--concurrency", type=int, default=16)
    a = ap.parse_args()
    results = [await one_run(a.n, a.concurrency) for _ in range(a.runs)]
    for name, i in (("throughput msg/s", 0), ("p50 enqueue->delivered ms", 1),
                    ("p99 enqueue->delivered ms", 2)):
        vals = [r[i] for r in results]
        print(f"{name:28s} median {statistics.median(vals):9.1f}  "
              f"range {min(vals):.1f}-{max(vals):.1f}  ({a.runs} runs of {a.n})")


if __name__ == "__main__":
    asyncio.run(main())
