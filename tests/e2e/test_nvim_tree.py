"""The Neovim plugin's task list shows the task tree: sub-tasks indented under their parent
with their role, why a task waits, and the id under the cursor on a sub-task's line (real
headless Neovim, the plugin's own list buffer fed TaskInfo shapes as the server sends them)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "clients" / "nvim"
NVIM = Path(sys.executable).parent / "nvim"

pytestmark = pytest.mark.skipif(not NVIM.exists() and not shutil.which("nvim"),
                                reason="nvim not installed")

SCRIPT = """
local out = assert(os.getenv("CT_OUT"))
local state = require("codetap.state")
local list = require("codetap.tasklist")
local function info(id, intent, extra)
  local t = { id = id, intent = intent, state = "running", steps = 1, root_uri = "file:///r",
    branch = "b", base_commit = "c", created_at = "", updated_at = "", priority = 0,
    usage = { input_tokens = 10, output_tokens = 2, cost_usd = 0.5 } }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end
state.replace_tasks({ tasks = {
  info("6", "later", { state = "queued", waiting = "queued: 1 ahead" }),
  info("5", "test part a", { parent_id = "2", role = "tester" }),
  info("4", "unrelated"),
  info("3", "part b", { parent_id = "1", role = "coder" }),
  info("2", "part a", { parent_id = "1", role = "coder" }),
  info("1", "build the team thing", { role = "planner", parent_id = vim.NIL }),
} })
list.open(10)
local lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
local ids = {}
for row = 2, #lines do
  vim.api.nvim_win_set_cursor(0, { row, 0 })
  table.insert(ids, list.id_at_cursor() or "")
end
local fh = assert(io.open(out, "w"))
fh:write(vim.json.encode({ lines = lines, ids = ids }))
fh:close()
vim.cmd("qall!")
"""


def test_list_shows_the_tree(tmp_path: Path) -> None:
    script, out = tmp_path / "tree.lua", tmp_path / "out.json"
    script.write_text(SCRIPT)
    nvim = str(NVIM) if NVIM.exists() else "nvim"
    proc = subprocess.run(
        [nvim, "--headless", "--clean", "--cmd", f"set rtp^={PLUGIN}", "-c", f"luafile {script}"],
        env={"CT_OUT": str(out), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False)
    assert out.exists(), proc.stderr
    obs = json.loads(out.read_text())
    lines = obs["lines"][1:]
    assert obs["ids"] == ["6", "4", "1", "2", "5", "3"]
    assert lines[0].startswith("#6    queued") and lines[0].endswith("later  (queued: 1 ahead)")
    assert lines[2].startswith("#1    running") and lines[2].endswith("  build the team thing")
    assert lines[3].startswith("└ #2    running") and lines[3].endswith("[coder] part a")
    assert lines[4].startswith("  └ #5    running") and lines[4].endswith("[tester] test part a")
    assert lines[5].startswith("└ #3") and lines[5].endswith("[coder] part b")
