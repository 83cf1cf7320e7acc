---The `:Codetap tasks` buffer: one line per task, re-rendered on every change.
local state = require("codetap.state")

local M = {}
local NAME = "codetap://tasks"

---"1.2k" style token count.
---@param n integer
---@return string
local function tokens(n)
  if n < 1000 then
    return tostring(n)
  end
  return ("%.1fk"):format(n / 1000)
end

---The line of one task: id, state, steps, tokens, cost, intent. A sub-task (`depth` > 0) is
---indented under its parent with `└` and its `[role]`; a waiting task ends with `(why)`.
---@param t codetap.TaskInfo
---@param depth integer|nil
---@return string
function M.line(t, depth)
  depth = depth or 0
  local u = t.usage or { input_tokens = 0, output_tokens = 0, cost_usd = 0 }
  local intent = vim.split(t.intent or "", "\n", { plain = true })[1]
  local lead = depth > 0 and (("  "):rep(depth - 1) .. "└ ") or ""
  local role = (t.role and t.role ~= vim.NIL and t.parent_id and t.parent_id ~= vim.NIL)
    and ("[" .. t.role .. "] ") or ""
  local line = ("%s#%-4s %-11s %3d steps %7s tok  $%.2f  %s%s"):format(lead, t.id, t.state,
    t.steps or 0, tokens(u.input_tokens + u.output_tokens), u.cost_usd, role, intent)
  if t.waiting and t.waiting ~= vim.NIL then
    line = line .. "  (" .. t.waiting .. ")"
  end
  return line
end

---Tasks in tree order with their depth: top-level tasks newest first, each followed by its
---sub-tasks oldest first (the plan's order). A sub-task whose parent is not known is shown
---at the top level.
---@param tasks codetap.TaskInfo[] newest first
---@return { task: codetap.TaskInfo, depth: integer }[]
function M.tree(tasks)
  local known, kids = {}, {}
  for _, t in ipairs(tasks) do
    known[t.id] = true
  end
  for _, t in ipairs(tasks) do
    local p = t.parent_id
    if p and p ~= vim.NIL and known[p] then
      kids[p] = kids[p] or {}
      table.insert(kids[p], 1, t)
    end
  end
  local out = {}
  local function walk(t, depth)
    table.insert(out, { task = t, depth = depth })
    for _, k in ipairs(kids[t.id] or {}) do
      walk(k, depth + 1)
    end
  end
  for _, t in ipairs(tasks) do
    local p = t.parent_id
    if not (p and p ~= vim.NIL and known[p]) then
      walk(t, 0)
    end
  end
  return out
end

---The task id on the cursor line of the list buffer.
---@return string|nil
function M.id_at_cursor()
  local line = vim.api.nvim_get_current_line()
  return line:match("^[%s\226\148\148]*#(%d+)")
end

local function buf()
  local b = vim.fn.bufnr(NAME)
  return b > 0 and vim.api.nvim_buf_is_valid(b) and b or nil
end

---Render the list buffer if it exists.
function M.render()
  local b = buf()
  if not b then
    return
  end
  local lines = { "codetap tasks  (<CR> diff, a apply, x discard, c cancel, p pause, r resume)" }
  for _, row in ipairs(M.tree(state.list())) do
    table.insert(lines, M.line(row.task, row.depth))
  end
  if #lines == 1 then
    table.insert(lines, "(no tasks; start one with :Codetap task {intent})")
  end
  vim.bo[b].modifiable = true
  vim.api.nvim_buf_set_lines(b, 0, -1, false, lines)
  vim.bo[b].modifiable = false
end

---Open (or focus) the list in a split below.
---@param height integer
function M.open(height)
  local b = buf()
  if not b then
    b = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(b, NAME)
    vim.bo[b].filetype = "codetap-tasks"
    vim.bo[b].bufhidden = "hide"
    local function map(lhs, sub)
      vim.keymap.set("n", lhs, function()
        local id = M.id_at_cursor()
        if id then
          vim.cmd("Codetap " .. sub .. " " .. id)
        end
      end, { buffer = b, nowait = true, desc = "codetap " .. sub })
    end
    map("<CR>", "diff")
    map("a", "accept")
    map("x", "discard")
    map("c", "cancel")
    map("p", "pause")
    map("r", "resume")
  end
  local win = vim.fn.bufwinid(b)
  if win == -1 then
    vim.cmd(("botright %dsplit"):format(height))
    vim.api.nvim_win_set_buf(0, b)
  else
    vim.api.nvim_set_current_win(win)
  end
  M.render()
end

return M
