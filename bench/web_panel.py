"""Web panel load times in headless Chromium (system /usr/bin/chromium via Playwright).

Sets up isolated XDG dirs, 1,000 tasks in the database (written through the Store before
the daemon starts) and one real 500-step task (a replay model reading a file 499 times,
then finishing), starts ``codetap serve --http 127.0.0.1:0 --detach`` and loads, 5 times
each in a fresh page:

- the tasks page: first contentful paint, and "interactive" = its script has run and the
  live stream is open (``#tasks[data-live]``), both from navigation start;
- the 500-step task's page: first contentful paint, and the whole journal rendered from
  its event stream (``#task[data-settled]``, the stream's ``end`` seen);
- the live-update cost per journal event on that page: the page's own event handler time
  (``window.codetap.perf``: timeline entry, replay slider, usage series; the plots are
  redrawn once per animation frame and counted apart as ``frame``), both for the journal
  loaded at once and for a follow-up run of 20 more steps arriving live while the page is
  open (then the handler and one plot redraw per event, since they arrive one at a time).

Run: ``.venv/bin/python bench/web_panel.py``. Prints median and range (ms).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

RUNS = 5
MARK = """new MutationObserver((_, obs) => {
  const t = document.querySelector('#tasks[data-live], #task[data-settled]');
  if (t) { window.__ready = performance.now(); obs.disconnect(); }
}).observe(document, {subtree: true, attributes: true, childList: true});"""


def setup() -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="codetap-web-bench-"))
    for name, var in (("d", "XDG_DATA_HOME"), ("c", "XDG_CONFIG_HOME"), ("k", "XDG_CACHE_HOME"),
                      ("r", "XDG_RUNTIME_DIR")):
        (tmp / name).mkdir(mode=0o700)
        os.environ[var] = str(tmp / name)
    from tests.conftest import make_repo
    from tests.e2e.conftest import CALC
    repo = make_repo(tmp / "repo", {"calc.py": CALC})
    read = {"tool_calls": [{"name": "read", "arguments": {"path": "calc.py"}}]}
    done = {"tool_calls": [{"name": "finish", "arguments": {"summary": "ok"}}]}
    more = {"delay_ms": 30, **read}
    (tmp / "s.jsonl").write_text((json.dumps(read) + "\n") * 499 + json.dumps(done) + "\n"
                                 + ((json.dumps(more) + "\n") * 19 + json.dumps(done) + "\n")
                                 * RUNS)
    cfg = tmp / "c" / "codetap"
    cfg.mkdir()
    (cfg / "config.toml").write_text(f'default_model = "m"\n[models.m]\nprovider = "replay"\n'
                                     f'path = "{tmp}/s.jsonl"\n[verify]\nstrategy = "none"\n'
                                     '[limits]\nmax_steps = 100000\nmax_tokens = 1000000000\n')
    return repo


async def fill(repo: Path) -> None:
    from codetap.store import Store
    from codetap.types import TaskState, Usage
    db = Path(os.environ["XDG_DATA_HOME"]) / "codetap" / "codetap.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    store = await Store.open(db)
    states = [TaskState.READY, TaskState.FAILED, TaskState.CANCELLED, TaskState.APPLIED]
    for i in range(1000):
        t = await store.create_task(intent=f"bench task {i}", root=repo, scope=None,
                                    model="m", workflow="solo")
        await store.update_task(t.id, state=states[i % 4], steps=i % 40,
                                usage=Usage(input_tokens=1000 + i, output_tokens=100,
                                            cost_usd=0.001 * i))
    await store.close()


def serve() -> tuple[str, str]:
    out = subprocess.run([sys.executable, "-m", "codetap", "serve", "--http", "127.0.0.1:0",
                          "--detach"], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    return lines[-1].rsplit(" ", 1)[1], lines[1].strip()


async def measure(context: object, url: str) -> tuple[float, float]:
    page = await context.new_page()  # type: ignore[attr-defined]
    await page.add_init_script(MARK)
    await page.goto(url)
    await page.wait_for_function("window.__ready !== undefined", timeout=120_000)
    fcp, ready = await page.evaluate("""() => [
        performance.getEntriesByName('first-contentful-paint')[0].startTime,
        window.__ready]""")
    await page.close()
    return float(fcp), float(ready)


async def live(context: object, url: str, task: str) -> dict[str, float]:
    """The page's handler cost per journal event (ms): ``bulk`` for the journal loaded at
    once, ``live`` for the events of a follow-up run (sent from the page's form) arriving
    while it is open, and ``frame`` per plot redraw during that run."""
    page = await context.new_page()  # type: ignore[attr-defined]
    await page.goto(f"{url}/tasks/{task}")
    await page.wait_for_selector("#task[data-settled]", timeout=120_000)
    bulk = await page.evaluate("() => ({...window.codetap.perf})")
    await page.fill("#message", "again")
    await page.click("#message-form button")
    await page.wait_for_selector("#task:not([data-settled])", timeout=120_000)
    await page.wait_for_selector("#task[data-settled]", timeout=120_000)
    after = await page.evaluate("() => ({...window.codetap.perf})")
    await page.close()
    n = after["events"] - bulk["events"]
    frames = after["frames"] - bulk["frames"]
    return {"bulk": bulk["ms"] / bulk["events"], "live": (after["ms"] - bulk["ms"]) / max(1, n),
            "frame": (after["frameMs"] - bulk["frameMs"]) / max(1, frames), "events": n}


def line(name: str, values: list[float]) -> str:
    return (f"{name:<34} median {statistics.median(values):7.1f} ms  "
            f"range {min(values):7.1f} .. {max(values):7.1f}")


async def main() -> None:
    import httpx
    from playwright.async_api import async_playwright

    from codetap.daemon.control import stop
    from codetap.daemon.paths import DaemonPaths
    repo = setup()
    await fill(repo)
    url, token = serve()
    try:
        async with httpx.AsyncClient(base_url=url, timeout=600,
                                     headers={"Authorization": f"Bearer {token}"}) as http:
            r = await http.post("/v1/tasks", json={"intent": "500 steps",
                                                   "repo": {"path": str(repo)}})
            big = r.json()["id"]
            while (await http.get(f"/v1/tasks/{big}")).json()["state"] not in (
                    "ready", "failed"):
                await asyncio.sleep(0.5)  # polling the bench's own setup, not a test
            info = (await http.get(f"/v1/tasks/{big}")).json()
        print(f"tasks: 1001; task {big}: {info['state']}, {info['steps']} steps")
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync"])
            context = await browser.new_context()
            await context.add_cookies([{"name": "codetap_token", "value": token,
                                        "url": url}])
            for name, path in (("tasks page (1,001 tasks)", "/"),
                               (f"task page ({info['steps']} steps)", f"/tasks/{big}")):
                runs = [await measure(context, url + path) for _ in range(RUNS)]
                print(line(f"{name}: first paint", [r[0] for r in runs]))
                print(line(f"{name}: interactive", [r[1] for r in runs]))
            costs = [await live(context, url, big) for _ in range(RUNS)]
            print(f"follow-up runs: {[int(c['events']) for c in costs]} live events each")
            for key, what in (("bulk", "handler per event, journal at once"),
                              ("live", "handler per event, live"),
                              ("frame", "plot redraw per frame, live")):
                values = [c[key] for c in costs]
                print(f"{what:<40} median {statistics.median(values):6.3f} ms  "
                      f"range {min(values):6.3f} .. {max(values):6.3f}")
            await browser.close()
    finally:
        stop(DaemonPaths.from_env(dict(os.environ)))


if __name__ == "__main__":
    asyncio.run(main())
