#!/usr/bin/env python3
"""Generate codetap's protocol artefacts from the server's pydantic protocol models.

Sources: method names from ``codetap.protocol.methods`` (the one place they are written),
wire shapes from ``codetap.protocol.models``, task states from ``codetap.types.TaskState``.
Outputs (never edited by hand):

- ``protocol/codetap.schema.json``: JSON Schema (draft 2020-12) of every shape, plus a
  ``methods`` table (kind, direction, executeCommand twin, params and result refs);
- ``protocol/methods.md``: the prose spec of the custom methods and shapes;
- ``clients/vscode/src/generated/protocol.ts``: TypeScript types and method constants;
- ``clients/nvim/lua/codetap/protocol.lua``: LuaCATS annotations and method constants.

Usage: ``gen_protocol.py`` writes the files; ``gen_protocol.py --check`` writes nothing,
prints a unified diff of every stale file and exits 1 if any (0 when all are current).
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from protocol_render import (
    METHODS,
    build_schema,
    render_lua,
    render_markdown,
    render_typescript,
)

OUTPUTS: dict[str, Any] = {
    "protocol/codetap.schema.json": lambda s: json.dumps(s, indent=2, sort_keys=False) + "\n",
    "protocol/methods.md": render_markdown,
    "clients/vscode/src/generated/protocol.ts": render_typescript,
    "clients/nvim/lua/codetap/protocol.lua": render_lua,
}


def generate() -> dict[Path, str]:
    """Every output path (absolute) -> its expected text."""
    schema = build_schema(METHODS)
    return {ROOT / rel: render(schema) for rel, render in OUTPUTS.items()}


def check(files: dict[Path, str], root: Path = ROOT) -> int:
    """Print a diff for each stale or missing file (paths shown relative to ``root``).

    Returns 1 if any file is stale or missing, else 0.
    """
    stale = 0
    for path, want in files.items():
        have = path.read_text(encoding="utf-8") if path.exists() else ""
        if have != want:
            stale += 1
            rel = path.relative_to(root)
            sys.stdout.writelines(difflib.unified_diff(
                have.splitlines(keepends=True), want.splitlines(keepends=True),
                fromfile=f"a/{rel}", tofile=f"b/{rel} (generated)"))
    if stale:
        print(f"\n{stale} generated protocol file(s) are stale: run scripts/gen_protocol.py",
              file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; print diffs and exit 1 when outputs are stale")
    args = parser.parse_args(argv)
    files = generate()
    if args.check:
        return check(files)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
