"""Which projects the user trusts (ARCHITECTURE.md "Trust and safety").

A repository's ``.codetap/`` directory comes with the repository, so by default codetap
treats it as untrusted: it may tighten the user's settings and nothing more
(:mod:`codetap.project`). ``codetap trust PATH`` records the project with a SHA-256 of its
``.codetap/config.toml`` and ``.codetap/roles/*.md``; when any of them changes (a pull, a
checkout of another branch, a hostile commit) the record no longer matches and the project
is untrusted again until the user reviews and trusts it anew.

Records live in ``<config_dir>/trusted.json`` (0600)::

    {"projects": {"/abs/path/to/repo": {"sha256": "<hex>", "trusted_at": "<RFC 3339>"}}}
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from codetap.errors import ConfigError

TRUST_FILE = "trusted.json"


def project_files(repo: Path) -> list[Path]:
    """The files of ``repo`` that trust covers, in a stable order (may be empty)."""
    base = repo / ".codetap"
    files = [base / "config.toml"] if (base / "config.toml").is_file() else []
    roles = base / "roles"
    if roles.is_dir():
        files += sorted(p for p in roles.glob("*.md") if p.is_file())
    return files


def project_hash(repo: Path) -> str:
    """SHA-256 (hex) over the names and bytes of :func:`project_files`."""
    digest = hashlib.sha256()
    for path in project_files(repo):
        digest.update(path.relative_to(repo).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class TrustRecord:
    """One trusted project: its resolved root, the hash trusted, when (RFC 3339)."""

    root: Path
    sha256: str
    trusted_at: str

    def current(self) -> bool:
        """Whether the project's files still hash to what the user trusted."""
        return project_hash(self.root) == self.sha256


class TrustStore:
    """The user's trust records in ``config_dir/trusted.json``.

    Reads are cheap (one small file); each call reads it again so that a ``codetap trust``
    in another process is seen by a running daemon at the next task start. ConfigError
    when the file exists but is not valid JSON of the shape above.
    """

    def __init__(self, config_dir: Path) -> None:
        self.path = config_dir / TRUST_FILE

    def records(self) -> dict[Path, TrustRecord]:
        """Every record, by resolved root."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (ValueError, OSError) as exc:
            raise ConfigError(f"{self.path}: unreadable trust records: {exc}") from None
        projects = raw.get("projects") if isinstance(raw, dict) else None
        if not isinstance(projects, dict):
            raise ConfigError(f"{self.path}: expected {{\"projects\": {{...}}}}")
        out: dict[Path, TrustRecord] = {}
        for root, entry in projects.items():
            if isinstance(entry, dict) and isinstance(entry.get("sha256"), str):
                out[Path(root)] = TrustRecord(Path(root), entry["sha256"],
                                              str(entry.get("trusted_at", "")))
        return out

    def is_trusted(self, repo: Path) -> bool:
        """Whether ``repo``'s project files are trusted as they are now."""
        record = self.records().get(repo.resolve())
        return record is not None and record.current()

    def trust(self, repo: Path) -> TrustRecord:
        """Record ``repo`` as trusted with its files' current hash; the record."""
        root = repo.resolve()
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        record = TrustRecord(root, project_hash(root), now)
        records = self.records()
        records[root] = record
        self._write(records)
        return record

    def revoke(self, repo: Path) -> bool:
        """Forget ``repo``; False if it was not trusted."""
        records = self.records()
        if records.pop(repo.resolve(), None) is None:
            return False
        self._write(records)
        return True

    def _write(self, records: dict[Path, TrustRecord]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"projects": {str(r.root): {"sha256": r.sha256, "trusted_at": r.trusted_at}
                             for r in records.values()}}
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
        os.replace(tmp, self.path)
