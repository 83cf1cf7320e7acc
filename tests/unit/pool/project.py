"""A generated multi-file Python project with known cross-file uses, for pool tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

GEOMETRY = """\
def area(width: float, height: float) -> float:
    return width * height


class Shape:
    def __init__(self, width: float, height: float) -> None:
        self.width = width
        self.height = height

    def size(self) -> float:
        return area(self.width, self.height)

    def describe(self) -> str:
        return f"shape of size {self.size()}"
"""

REPORT = """\
from pkg.geometry import Shape, area


def total() -> float:
    return area(1, 2) + area(3, 4)


def summary() -> str:
    shape = Shape(1, 2)
    return shape.describe()
"""

CLI = """\
from pkg.geometry import area
from pkg.report import summary, total


def main() -> None:
    print(total(), summary(), area(2, 2))
"""

# Characters outside the BMP before the call: 1 code point each, 2 UTF-16 code units.
UNICODE = """\
from pkg.geometry import area

label = "\U0001f642\U0001f642"; value = area(5, 6)
"""

FILLER = """\
from pkg.geometry import area


def use_{n}() -> float:
    return area({n}, 2)
"""


def make_project(root: Path, fillers: int = 0) -> Path:
    """Write the project under ``root``; returns ``root``. ``area`` then has
    ``7 + 2 * fillers`` references (declaration included)."""
    pkg = root / "pkg"
    pkg.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text('[project]\nname = "sample"\nversion = "0"\n')
    (pkg / "__init__.py").write_text("")
    (pkg / "geometry.py").write_text(GEOMETRY)
    (pkg / "report.py").write_text(REPORT)
    (pkg / "cli.py").write_text(CLI)
    (pkg / "unicode_names.py").write_text(UNICODE, encoding="utf-8")
    if fillers:
        fill = pkg / "fill"
        fill.mkdir(exist_ok=True)
        (fill / "__init__.py").write_text("")
        for n in range(fillers):
            (fill / f"mod_{n}.py").write_text(textwrap.dedent(FILLER.format(n=n)))
    return root


def area_references(fillers: int = 0) -> int:
    """Expected number of references of ``area`` (declaration + imports + calls)."""
    # geometry: def + call in size; report: import + 2 calls; cli: import + call;
    # unicode_names: import + call; each filler: import + call.
    return 2 + 3 + 2 + 2 + 2 * fillers
