"""The bubblewrap command line of a sandboxed call: what the process can see and change.

Mount plan (later mounts cover earlier ones; ARCHITECTURE.md "Trust and safety"):

1. system directories read-only: ``/usr``, ``/etc``, ``/opt``, ``/nix``, ``/gnu`` and the
   ``/bin``, ``/sbin``, ``/lib*`` directories (or their symlinks into ``/usr``); the
   shadow password files and SSH host keys under ``/etc`` are hidden (the sandbox runs with
   the caller's uid, which may own them);
2. a fresh ``/proc`` (own pid namespace: the daemon's ``/proc/<pid>/environ`` holds API
   keys), a minimal ``/dev``, an empty private ``/tmp``;
3. ``$HOME`` an empty tmpfs; then ``read_paths`` read-only and ``write_paths`` read-write;
4. toolchains found on ``PATH`` outside ``$HOME`` and the system directories (a virtualenv,
   ``/usr/local/go``...): the prefix (the parent of a ``bin`` directory) read-only;
5. codetap's own data, config, cache and runtime directories hidden by an empty tmpfs
   wherever an earlier mount exposed them (a path inside one is never bound by 3-4);
6. the workspace read-write; the repository's git directory read-only (for a worktree:
   the main repository's ``.git``, which holds the worktree's own gitdir). ``git status``,
   ``diff`` and ``log`` work; ``git add``/``commit`` fail, as codetap's checkpoint commits
   happen outside the sandbox.

Namespaces: pid, ipc, uts, cgroup (when possible) and, unless ``network = "on"``, network
(only a loopback interface inside). All capabilities are dropped (bwrap keeps them for
root otherwise) and bwrap dies with its parent.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codetap.tools.sandbox import SandboxSettings

SYSTEM_DIRS = ("/usr", "/etc", "/opt", "/nix", "/gnu")
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
HIDDEN_FILES = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-")
HIDDEN_GLOBS = ("ssh/ssh_host_*_key",)


def sandbox_argv(
    settings: SandboxSettings, workspace: Path, argv: list[str], *, git_dir: Path | None,
    bwrap: str = "bwrap", env: Mapping[str, str] | None = None,
) -> list[str]:
    """``argv`` wrapped in ``bwrap`` per the module's mount plan.

    ``workspace``: absolute directory (bound read-write, the working directory).
    ``git_dir``: the repository's git directory to bind read-only; None: found from
    ``workspace/.git`` (a directory, or a ``gitdir:`` file and its ``commondir``).
    ``env`` (default ``os.environ``) gives ``HOME`` and the ``XDG_*`` directories of
    codetap to hide. Pure: runs nothing; missing optional paths are skipped.
    """
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or Path.home())
    private = _codetap_dirs(env, home)
    out = [bwrap, "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
           "--unshare-cgroup-try", "--cap-drop", "ALL"]
    if settings.network != "on":
        out.append("--unshare-net")
    bound: list[Path] = []
    for d in SYSTEM_DIRS:
        if os.path.isdir(d):
            out += ["--ro-bind", d, d]
            bound.append(Path(d))
    for d in SYSTEM_LINKS:
        if os.path.islink(d):
            out += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            out += ["--ro-bind", d, d]
            bound.append(Path(d))
    out += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for f in [*HIDDEN_FILES, *(str(p) for g in HIDDEN_GLOBS for p in Path("/etc").glob(g))]:
        if os.path.isfile(f):
            out += ["--ro-bind", "/dev/null", f]
    if settings.network == "on":
        out += _resolver_binds()
    if str(home) != "/" and not _under_any(home, [Path(d) for d in SYSTEM_DIRS]):
        out += ["--tmpfs", str(home)]
    for paths, flag in ((settings.read_paths, "--ro-bind-try"),
                        (settings.write_paths, "--bind-try")):
        for p in paths:
            path = Path(os.path.expanduser(p))
            if path.is_absolute() and not _under_any(path, private):
                out += [flag, str(path), str(path)]
                bound.append(path)
    for prefix in _toolchains(env.get("PATH", ""), home, private, workspace):
        out += ["--ro-bind", str(prefix), str(prefix)]
        bound.append(prefix)
    for hide in private:
        if hide.is_dir() and _under_any(hide, bound):
            out += ["--tmpfs", str(hide)]
    out += ["--bind", str(workspace), str(workspace)]
    for g in git_dirs(workspace) if git_dir is None else _with_common(git_dir):
        out += ["--ro-bind", str(g), str(g)]
    return [*out, "--chdir", str(workspace), "--", *argv]


def git_dirs(workspace: Path) -> list[Path]:
    """The git directories a command in ``workspace`` reads: ``workspace/.git`` if it is a
    directory; for a linked worktree its gitdir and the main repository's git dir."""
    dot = workspace / ".git"
    if dot.is_dir():
        return [dot]
    try:
        first = dot.read_text().splitlines()[0]
    except (OSError, IndexError):
        return []
    if not first.startswith("gitdir:"):
        return []
    return _with_common((workspace / first[len("gitdir:"):].strip()).resolve())


def _with_common(git_dir: Path) -> list[Path]:
    """``git_dir`` plus its ``commondir`` (linked worktrees), outermost first, no nesting."""
    try:
        common = (git_dir / (git_dir / "commondir").read_text().strip()).resolve()
    except OSError:
        return [git_dir] if git_dir.exists() else []
    return [common] if git_dir.is_relative_to(common) else [common, git_dir]


def _codetap_dirs(env: Mapping[str, str], home: Path) -> list[Path]:
    """codetap's own directories (XDG Base Directory spec defaults), to hide."""
    def xdg(name: str, default: Path) -> Path:
        return Path(env.get(name) or default) / "codetap"
    dirs = [xdg("XDG_DATA_HOME", home / ".local" / "share"),
            xdg("XDG_CONFIG_HOME", home / ".config"),
            xdg("XDG_CACHE_HOME", home / ".cache"),
            xdg("XDG_STATE_HOME", home / ".local" / "state")]
    runtime = env.get("XDG_RUNTIME_DIR")
    dirs.append(Path(runtime) / "codetap" if runtime else Path(f"/tmp/codetap-{os.getuid()}"))
    return dirs


def _toolchains(path_var: str, home: Path, private: list[Path], workspace: Path) -> list[Path]:
    """Prefixes of ``PATH`` entries outside the system dirs and ``$HOME``, read-only."""
    system = [Path(d) for d in (*SYSTEM_DIRS, *SYSTEM_LINKS, "/tmp", "/proc", "/dev")]
    found: list[Path] = []
    for entry in path_var.split(":"):
        if not entry.startswith("/"):
            continue
        d = Path(os.path.normpath(entry))
        prefix = d.parent if d.name == "bin" and d.parent != Path("/") else d
        if (not prefix.is_dir() or _under_any(prefix, [*system, home, workspace])
                or _under_any(prefix, [*private, *found])):
            continue
        found.append(prefix)
    return found


def _resolver_binds() -> list[str]:
    """With the network on, ``/etc/resolv.conf`` often points into ``/run``: bind that."""
    target = Path("/etc/resolv.conf")
    if not target.is_symlink():
        return []
    real = target.resolve().parent
    if not real.is_dir() or _under_any(real, [Path(d) for d in SYSTEM_DIRS]):
        return []
    return ["--ro-bind", str(real), str(real)]


def _under_any(path: Path, roots: list[Path]) -> bool:
    return any(path == r or path.is_relative_to(r) for r in roots)
