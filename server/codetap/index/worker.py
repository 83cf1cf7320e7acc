"""Child process of :func:`codetap.index.parse.parse_files`.

Protocol: argv[1] is the workspace root; stdin holds ``marshal.dumps(list[rel_path])``;
stdout receives, per file as soon as it is parsed, ``marshal.dumps((rel_path, payload))``
where payload is the cache form of the file's tags
(:func:`codetap.index.cache.encode_tags`) or None for an unreadable file. Exit status 0 on success.
"""

from __future__ import annotations

import marshal
import sys
from pathlib import Path

from codetap.index.parse import parse_to_payloads


def main() -> int:
    """Run one batch; returns the process exit status."""
    root = Path(sys.argv[1])
    rel_paths = marshal.loads(sys.stdin.buffer.read())
    out = sys.stdout.buffer
    for rel in rel_paths:
        out.write(marshal.dumps((rel, parse_to_payloads(root, [rel])[rel])))
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
