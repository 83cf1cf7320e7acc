"""Slug generation."""

import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")


def _ascii(text: str) -> str:
    normalized = unicodedata.normalize("NFKD", text)
    return normalized.encode("ascii", "ignore").decode("ascii")


def slugify(text: str, sep: str = "-", max_length: int | None = None) -> str:
    """Lowercase ASCII slug of ``text``: words joined by ``sep``.

    ``max_length`` bounds the result; words are never cut in the middle when avoidable.
    """
    words = [w for w in _NON_WORD.split(_ascii(text).lower()) if w]
    slug = sep.join(words)
    if max_length is not None and len(slug) > max_length:
        cut = slug[:max_length]
        if sep in cut and slug[max_length] != sep:
            cut = cut[: cut.rindex(sep) + 1]
        slug = cut
    return slug


def unique_slug(text: str, existing: set[str], sep: str = "-") -> str:
    """``slugify(text)``, with ``-2``, ``-3``... appended until it is not in ``existing``."""
    base = slugify(text, sep=sep)
    slug, n = base, 2
    while slug in existing:
        slug = f"{base}{sep}{n}"
        n += 1
    return slug
