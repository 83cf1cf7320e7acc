"""Generated multi-file Python projects for the index and repo map tests."""

from __future__ import annotations

import random
from pathlib import Path


def write(root: Path, files: dict[str, str]) -> None:
    """Write ``files`` (relative path -> text) under ``root``."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def generated_project(root: Path, modules: int = 40, funcs: int = 8, seed: int = 7) -> Path:
    """A deterministic project: ``pkg/mod_<i>.py`` each defining a class and ``funcs``
    functions that call functions of other modules (lower-numbered modules are called
    more, so the graph has clear hubs)."""
    rng = random.Random(seed)
    files: dict[str, str] = {}
    for i in range(modules):
        lines = [f'"""Module {i}."""', "", f"class Widget{i}:", f"    def render_{i}(self, x):"]
        lines.append(f"        return helper_{i}_0(x)")
        lines.append("")
        for j in range(funcs):
            lines.append(f"def helper_{i}_{j}(value, other=None):")
            for _ in range(2):
                k = min(int(rng.expovariate(0.15)), modules - 1)
                lines.append(f"    value = helper_{k}_{rng.randrange(funcs)}(value)")
            lines.append(f"    return Widget{min(int(rng.expovariate(0.3)), modules - 1)}()")
            lines.append("")
        files[f"pkg/mod_{i}.py"] = "\n".join(lines)
    write(root, files)
    return root
