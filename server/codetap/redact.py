"""Redaction of known secret values before anything is journaled, logged or sent to a
model (ARCHITECTURE.md "Trust and safety").

Known secrets are values, not patterns: the value of every environment variable of this
process whose name (or value) looks like a credential
(:func:`codetap.tools.environment.looks_secret`), and values
registered by the runtime (each configured model's key from ``api_key_env``; later webhook
secrets and git tokens). Each occurrence becomes ``[redacted $NAME]``. Values shorter than
:data:`MIN_SECRET_LEN` characters are not treated as secrets: redacting ``"1"`` or
``"true"`` everywhere would destroy ordinary output while protecting nothing.

The registry is process-wide because the environment is: tools, the journal and the log
handlers of one daemon all see the same secrets.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from codetap.tools.environment import looks_secret

MIN_SECRET_LEN = 8

_lock = threading.Lock()
_registered: dict[str, str] = {}
_pattern: re.Pattern[str] | None = None
_names: dict[str, str] = {}


def register(secrets: Mapping[str, str]) -> None:
    """Add secret values by label (``{"OPENAI_API_KEY": "sk-..."}``); short ones are
    ignored (see the module docstring)."""
    global _pattern
    with _lock:
        for name, value in secrets.items():
            if value and len(value) >= MIN_SECRET_LEN:
                _registered[value] = name
        _pattern = None


def register_env(names: Iterable[str], env: Mapping[str, str] | None = None) -> None:
    """Register the values of the environment variables ``names`` (unset ones skipped)."""
    source = os.environ if env is None else env
    register({n: source[n] for n in names if source.get(n)})


def _compiled() -> tuple[re.Pattern[str] | None, dict[str, str]]:
    global _pattern, _names
    with _lock:
        if _pattern is None:
            values = {v: n for n, v in os.environ.items()
                      if looks_secret(n, v) and len(v) >= MIN_SECRET_LEN}
            values.update(_registered)
            forms: dict[str, str] = {}
            for value, name in values.items():
                forms[value] = name
                escaped = json.dumps(value, ensure_ascii=False)[1:-1]  # inside JSON text
                forms.setdefault(escaped, name)
            _names = forms
            ordered = sorted(forms, key=len, reverse=True)  # longest first: no partial hits
            _pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else \
                re.compile(r"(?!x)x")
        return _pattern, _names


def redact_text(text: str) -> str:
    """``text`` with every known secret value replaced by ``[redacted $NAME]``."""
    pattern, names = _compiled()
    if pattern is None or not names:
        return text
    return pattern.sub(lambda m: f"[redacted ${names[m.group(0)]}]", text)


def redact_json(data: Any) -> Any:
    """A JSON-shaped value (dicts, lists, strings, numbers) with secrets redacted in every
    string, keys included; the same object when it holds none."""
    text = json.dumps(data, ensure_ascii=False)
    cleaned = redact_text(text)
    return data if cleaned == text else json.loads(cleaned)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message (and exception text) of every
    record passing through the handler it is attached to."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_text(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_filter(logger: logging.Logger | None = None) -> None:
    """Attach :class:`RedactingFilter` to every handler of ``logger`` (default: root)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def reset_for_tests() -> None:
    """Forget registered values and the environment snapshot (tests change os.environ)."""
    global _pattern
    with _lock:
        _registered.clear()
        _pattern = None
