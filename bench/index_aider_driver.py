"""Run aider's RepoMap once, cold, on a directory; print JSON timings on stdout.

Executed by ``index_repomap.py`` with the python of the separate venv
``bench/.venvs/aider`` (aider-chat installed there, never in codetap's venv).
Usage: python index_aider_driver.py ROOT MAP_TOKENS
"""

import json
import shutil
import sys
import time
from pathlib import Path


def main() -> None:
    root = Path(sys.argv[1]).resolve()
    tokens = int(sys.argv[2])
    for stale in root.glob(".aider.tags.cache*"):
        shutil.rmtree(stale, ignore_errors=True)
    t0 = time.perf_counter()
    from aider.io import InputOutput
    from aider.models import Model
    from aider.repomap import RepoMap

    files = sorted(str(p) for p in root.rglob("*.py"))
    io = InputOutput(yes=True, pretty=False)
    model = Model("gpt-4o-mini")
    t1 = time.perf_counter()
    repo_map = RepoMap(map_tokens=tokens, root=str(root), main_model=model, io=io)
    text = repo_map.get_repo_map(chat_files=[], other_files=files) or ""
    t2 = time.perf_counter()
    for stale in root.glob(".aider.tags.cache*"):
        shutil.rmtree(stale, ignore_errors=True)
    print(json.dumps({
        "setup_s": t1 - t0, "map_s": t2 - t1, "files": len(files), "chars": len(text),
        "map_tokens": tokens, "head": text[:300],
    }))


if __name__ == "__main__":
    main()
