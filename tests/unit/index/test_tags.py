"""Tag extraction per language on small fixtures (real grammars, real queries)."""

from __future__ import annotations

import pytest

from codetap.index.languages import EXTENSIONS, LANGUAGES, language_for_path
from codetap.index.tags import Tag, extract_tags


def _defs(tags: list[Tag]) -> set[tuple[str, str, int]]:
    return {(t.name, t.category, t.line) for t in tags if t.kind == "def"}


def _refs(tags: list[Tag]) -> set[tuple[str, int]]:
    return {(t.name, t.line) for t in tags if t.kind == "ref"}


PYTHON = b"""\
import os
LIMIT = 10

class Shape(Base):
    @property
    def area(self) -> Number:
        return compute(self)

def compute(shape):
    return Shape().area
"""

TYPESCRIPT = b"""\
interface Point { x: number }
type Id = string;
enum Color { Red }
export class Canvas extends Surface implements Drawable {
  draw(p: Point): void {
    render(p);
    this.flush();
  }
}
export function render(p: Point) { return new Canvas(); }
const helper = (a: Id) => a;
"""

TSX = b"""\
interface Props { title: string }
export function Header(props: Props) {
  return <Title text={props.title} />;
}
const Title = (p: { text: string }) => <h1>{format(p.text)}</h1>;
"""

JAVASCRIPT = b"""\
class Store extends Base {
  get(key) {
    return lookup(key);
  }
}
function lookup(key) { return new Store(); }
const handler = function () { store.get(1); };
"""

GO = b"""\
package main

type Server struct { port int }
type Handler interface { Serve() }
type ID string

func (s *Server) Start() error {
\treturn listen(s.port)
}

func listen(port int) error {
\tfmt.Println(port)
\treturn nil
}
"""

C = b"""\
#define MAX 10
#define SQUARE(x) ((x) * (x))
struct point { int x; };
typedef struct point point_t;
int area(point_t *p);
static char *name(void) { return 0; }
int area(point_t *p) {
    return SQUARE(p->x) + helper(p);
}
"""

CPP = b"""\
namespace geo {
class Shape : public Base {
 public:
  double area() const;
};
double Shape::area() const { return compute(*this); }
int compute(const Shape &s) { return s.area(); }
}
"""

RUST = b"""\
pub struct Point { x: i32 }
pub trait Draw { fn draw(&self); }
enum Kind { A }
impl Draw for Point {
    fn draw(&self) { render(self); println!("x"); }
}
fn render(p: &Point) -> Kind { helpers::log(p.x); Kind::A }
"""

JAVA = b"""\
public class Cart extends Base implements Priced {
    public Cart() { }
    public int total(Item item) {
        return item.price() + compute();
    }
}
interface Priced { int total(Item item); }
"""

CASES = [
    (
        "m.py", PYTHON,
        {("LIMIT", "constant", 2), ("Shape", "class", 4), ("area", "method", 6),
         ("compute", "function", 9)},
        {("Base", 4), ("property", 5), ("Number", 6), ("compute", 7), ("Shape", 10)},
    ),
    (
        "m.ts", TYPESCRIPT,
        {("Point", "interface", 1), ("Id", "type", 2), ("Color", "enum", 3),
         ("Canvas", "class", 4), ("draw", "method", 5), ("render", "function", 10),
         ("helper", "function", 11)},
        {("Surface", 4), ("Drawable", 4), ("Point", 5), ("render", 6), ("flush", 7),
         ("Canvas", 10), ("Id", 11)},
    ),
    (
        "m.tsx", TSX,
        {("Props", "interface", 1), ("Header", "function", 2), ("Title", "function", 5)},
        {("Props", 2), ("Title", 3), ("format", 5)},
    ),
    (
        "m.js", JAVASCRIPT,
        {("Store", "class", 1), ("get", "method", 2), ("lookup", "function", 6),
         ("handler", "function", 7)},
        {("Base", 1), ("lookup", 3), ("Store", 6), ("get", 7)},
    ),
    (
        "m.go", GO,
        {("Server", "struct", 3), ("Handler", "interface", 4), ("Serve", "method", 4),
         ("ID", "type", 5), ("Start", "method", 7), ("listen", "function", 11)},
        {("Server", 7), ("listen", 8), ("Println", 12)},
    ),
    (
        "m.c", C,
        {("MAX", "constant", 1), ("SQUARE", "macro", 2), ("point", "struct", 3),
         ("point_t", "type", 4), ("area", "function", 5), ("name", "function", 6),
         ("area", "function", 7)},
        {("point_t", 5), ("SQUARE", 8), ("helper", 8)},
    ),
    (
        "m.cpp", CPP,
        {("geo", "module", 1), ("Shape", "class", 2), ("area", "method", 4),
         ("area", "method", 6), ("compute", "function", 7)},
        {("Base", 2), ("compute", 6), ("Shape", 7), ("area", 7)},
    ),
    (
        "m.rs", RUST,
        {("Point", "struct", 1), ("Draw", "interface", 2), ("draw", "method", 2),
         ("Kind", "enum", 3), ("draw", "method", 5), ("render", "function", 7)},
        {("Draw", 4), ("Point", 4), ("render", 5), ("println", 5), ("Point", 7),
         ("Kind", 7), ("log", 7)},
    ),
    (
        "m.java", JAVA,
        {("Cart", "class", 1), ("Cart", "constructor", 2), ("total", "method", 3),
         ("Priced", "interface", 7), ("total", "method", 7)},
        {("Base", 1), ("Priced", 1), ("Item", 3), ("price", 4), ("compute", 4)},
    ),
]


@pytest.mark.parametrize(("path", "source", "defs", "refs"), CASES, ids=[c[0] for c in CASES])
def test_defs_and_refs_per_language(
    path: str, source: bytes, defs: set[tuple[str, str, int]], refs: set[tuple[str, int]]
) -> None:
    tags = extract_tags(path, source)
    assert _defs(tags) == defs
    assert refs <= _refs(tags), sorted(_refs(tags))
    assert all(t.rel_path == path for t in tags)


def test_every_language_has_an_extension_and_a_case() -> None:
    assert set(EXTENSIONS.values()) == set(LANGUAGES)
    assert {language_for_path(c[0]) for c in CASES} == set(LANGUAGES)


def test_positions_are_one_based_and_count_characters() -> None:
    tags = extract_tags("u.py", "s = 'é'; x = 1\ndef ünï(): pass\n".encode())
    (fn,) = [t for t in tags if t.name == "ünï"]
    assert (fn.line, fn.column, fn.end_line) == (2, 5, 2)


def test_definition_spans_its_body() -> None:
    (cls,) = [t for t in extract_tags("m.py", PYTHON) if t.name == "Shape" and t.kind == "def"]
    assert (cls.line, cls.end_line) == (4, 7)


def test_unsupported_and_broken_files() -> None:
    assert extract_tags("notes.txt", b"def f(): pass") == []
    assert language_for_path("README") is None
    broken = extract_tags("b.py", b"def ok():\n    pass\n\ndef broken(:\n")
    assert ("ok", "function", 1) in _defs(broken)
    with pytest.raises(KeyError):
        extract_tags("x.py", b"", lang="cobol")
