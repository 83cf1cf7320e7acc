#!/usr/bin/env bash
# Reproduces docs/images/nvim-inline-diff.txt: the Neovim plugin at work, captured from
# a real Neovim in tmux (120x40) against a real, isolated codetap daemon (replay model).
# Usage: docs/images/capture_nvim.sh [path/to/python-with-codetap] [path/to/nvim]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
PY="${1:-$REPO_ROOT/.venv/bin/python}"
NVIM="${2:-$REPO_ROOT/.venv/bin/nvim}"
WORK="$(mktemp -d)"
SOCK="codetap-capture-$$"
export XDG_DATA_HOME="$WORK/data" XDG_CONFIG_HOME="$WORK/config" XDG_CACHE_HOME="$WORK/cache"
export XDG_RUNTIME_DIR="$WORK/run" XDG_STATE_HOME="$WORK/state"
mkdir -p "$XDG_CONFIG_HOME/codetap" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
cleanup() {
  tmux -L "$SOCK" kill-server 2>/dev/null || true
  "$PY" -m codetap daemon stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/shop" && cd "$WORK/shop"
cat > cart.py <<'PY'
"""A tiny shopping cart."""


def total(prices, discount=0.0):
    s = 0
    for p in prices:
        s = s + p
    return s - discount


def count(prices):
    return len(prices)
PY
git init -q -b main && git add -A && git -c user.name=demo -c user.email=demo@localhost commit -qm init

cat > "$WORK/session.jsonl" <<'JSONL'
{"tool_calls": [{"name": "read", "arguments": {"path": "cart.py"}}]}
{"delay_ms": 2500, "tool_calls": [{"name": "edit", "arguments": {"path": "cart.py", "old_string": "    s = 0\n    for p in prices:\n        s = s + p\n    return s - discount", "new_string": "    return max(sum(prices) - discount, 0.0)"}}]}
{"tool_calls": [{"name": "finish", "arguments": {"summary": "total uses sum() and never goes below zero"}}]}
JSONL
printf 'default_model = "demo"\n[models.demo]\nprovider = "replay"\npath = "%s"\n' \
  "$WORK/session.jsonl" > "$XDG_CONFIG_HOME/codetap/config.toml"

cat > "$WORK/init.lua" <<LUA
vim.opt.rtp:prepend("$REPO_ROOT/clients/nvim")
vim.o.number = true
vim.o.termguicolors = true
vim.g.codetap = { cmd = { "$PY", "-m", "codetap", "lsp" } }
vim.lsp.enable("codetap")
LUA

tmux -L "$SOCK" new-session -d -x 120 -y 40 -c "$WORK/shop" \
  "env XDG_DATA_HOME=$XDG_DATA_HOME XDG_CONFIG_HOME=$XDG_CONFIG_HOME XDG_CACHE_HOME=$XDG_CACHE_HOME XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR XDG_STATE_HOME=$XDG_STATE_HOME $NVIM -u $WORK/init.lua cart.py"
sleep 8
tmux -L "$SOCK" send-keys ':4,8Codetap task make total() use sum() and never return a negative total' Enter
sleep 1
tmux -L "$SOCK" send-keys ':Codetap tasks' Enter
sleep 1.5
tmux -L "$SOCK" capture-pane -p -e > "$HERE/nvim-task-running.txt"
tmux -L "$SOCK" send-keys ':messages' Enter
sleep 0.5
tmux -L "$SOCK" capture-pane -p > "$WORK/messages.txt"
tmux -L "$SOCK" send-keys Enter
sleep 6
tmux -L "$SOCK" send-keys C-w k ':5' Enter
sleep 1
tmux -L "$SOCK" capture-pane -p -e > "$HERE/nvim-inline-diff.txt"
grep -i "error\|fail" "$WORK/messages.txt" >&2 || true
echo "wrote $HERE/nvim-task-running.txt and $HERE/nvim-inline-diff.txt"
