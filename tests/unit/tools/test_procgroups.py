"""Process groups of bash calls left by a dead runtime are killed at the next start."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import psutil

from codetap.tools.procgroups import ProcessGroups


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_leftover_group_is_killed_with_its_children(tmp_path: Path) -> None:
    proc = subprocess.Popen(["bash", "-c", "sleep 30 & sleep 30; wait"], start_new_session=True)
    try:
        time.sleep(0.2)
        children = [c.pid for c in psutil.Process(proc.pid).children()]
        assert len(children) == 2
        ProcessGroups(tmp_path / "pg").add(proc.pid)
        # this process (the owner) is alive: another runtime starting leaves the group alone
        assert ProcessGroups(tmp_path / "pg").kill_leftovers() == []
        assert len(psutil.Process(proc.pid).children()) == 2
        # the owner died: rewrite the record with a dead owner, as a crashed runtime leaves it
        record = tmp_path / "pg" / str(proc.pid)
        leader_start = record.read_text().split()[0]
        record.write_text(f"{leader_start} 999999 1.0")
        assert ProcessGroups(tmp_path / "pg").kill_leftovers() == [proc.pid]
        proc.wait(timeout=5)
        time.sleep(0.1)
        assert not any(_alive(pid) for pid in children)
        assert list((tmp_path / "pg").iterdir()) == []
    finally:
        if proc.poll() is None:
            proc.kill()


def test_reused_id_is_left_alone(tmp_path: Path) -> None:
    proc = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        (tmp_path / "pg").mkdir()
        (tmp_path / "pg" / str(proc.pid)).write_text("12345.0 999999 1.0")  # reused id
        assert ProcessGroups(tmp_path / "pg").kill_leftovers() == []
        assert proc.poll() is None
    finally:
        proc.kill()


def test_discarded_group_is_not_killed(tmp_path: Path) -> None:
    proc = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        groups = ProcessGroups(tmp_path / "pg")
        groups.add(proc.pid)
        groups.discard(proc.pid)
        assert ProcessGroups(tmp_path / "pg").kill_leftovers() == []
        assert proc.poll() is None
    finally:
        proc.kill()
