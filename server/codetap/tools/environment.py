"""The environment tool processes get: an allowlist, not the daemon's whole environment.

Issue 15 ("Secrets"; ARCHITECTURE.md "Trust and safety"): a model that runs ``env`` must not
read the user's API keys. Processes codetap starts for the model (``bash`` and everything it
starts) and language servers get :func:`scrubbed_env`:

* the ordinary variables in :data:`ALLOWED` (plus every ``LC_*``): the locale, terminal,
  user and the toolchain settings test runs need (Go, Rust, Python virtualenvs, Java, Node,
  C compilers, CA bundles);
* the names the user lists in ``[tools] env_passthrough``: exact names or ``fnmatch`` globs
  (case-sensitive, as variable names are);
* but a variable that looks like a credential (:func:`looks_secret`: its name contains
  ``KEY``, ``TOKEN``, ``SECRET``, ``PASSWORD``, ``PASSWD``, ``PASSPHRASE``, ``CREDENTIAL``,
  ``AUTH``, ``COOKIE``, ``PRIVATE`` or ``DSN``, in any case, or its value is a URL with a
  password such as ``https://user:pw@host``) passes only when listed by its exact name. A glob
  never lets one through, nor does the allowlist.

Left out on purpose: ``PWD`` (the shell sets it from its own working directory),
``PYTHONPATH`` (codetap's own import path must not leak into the project's interpreter; list
it to pass it), ``XDG_*`` (they locate codetap's own data, config and daemon socket), proxy
settings (``http_proxy`` and friends often embed a password), ``GOPROXY`` and ``CI``.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable, Mapping

ALLOWED: frozenset[str] = frozenset({
    # the user, the terminal, the locale, time
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TERM", "COLORTERM",
    "TZ", "TMPDIR",
    # Go
    "GOPATH", "GOROOT", "GOCACHE", "GOMODCACHE", "GOFLAGS", "GOTOOLCHAIN", "GO111MODULE",
    # Rust
    "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "RUSTFLAGS",
    # Python
    "VIRTUAL_ENV", "PYENV_ROOT", "CONDA_PREFIX", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED",
    # Java, Node
    "JAVA_HOME", "NODE_PATH", "NVM_DIR", "npm_config_cache",
    # C and C++ builds
    "CC", "CXX", "CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS", "PKG_CONFIG_PATH",
    "LD_LIBRARY_PATH",
    # TLS trust stores (paths, not secrets)
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS",
})
ALLOWED_PREFIXES: tuple[str, ...] = ("LC_",)
SECRET_WORDS: tuple[str, ...] = (
    "KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIAL", "AUTH",
    "COOKIE", "PRIVATE", "DSN",
)
_URL_WITH_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s@:]*:[^/\s@]+@")


def looks_secret(name: str, value: str = "") -> bool:
    """True if variable ``name`` (or its ``value``) looks like a credential.

    Name test: contains one of :data:`SECRET_WORDS`, case-insensitive. Value test: holds a
    URL with a password (``scheme://user:password@``).
    """
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS) or bool(_URL_WITH_PASSWORD.search(value))


def scrubbed_env(
    passthrough: Iterable[str] = (), base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The variables of ``base`` (default ``os.environ``) a tool process may see.

    ``passthrough``: exact names or ``fnmatch`` globs (``[tools] env_passthrough``). Returns
    a new dict, in ``base`` order. Credential-looking variables (:func:`looks_secret`) are
    kept only when ``passthrough`` lists their exact name.
    """
    source = os.environ if base is None else base
    listed = tuple(passthrough)
    exact = {p for p in listed if not _is_glob(p)}
    globs = [p for p in listed if _is_glob(p)]
    kept: dict[str, str] = {}
    for name, value in source.items():
        if name in exact:
            kept[name] = value
        elif looks_secret(name, value):
            continue
        elif (name in ALLOWED or name.startswith(ALLOWED_PREFIXES)
              or any(fnmatch.fnmatchcase(name, g) for g in globs)):
            kept[name] = value
    return kept


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")
