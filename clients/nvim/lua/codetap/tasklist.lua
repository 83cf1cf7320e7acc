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

---The line of one task: id, state, steps, tokens, cost, intent.
---@param t codetap.TaskInfo
---@return string
function M.line(t)
  local u = t.usage or { input_tokens = 0, output_tokens = 0, cost_usd = 0 }
  local intent = vim.split(t.intent or "", "\n", { plain = true })[1]
  return ("#%-4s %-11s %3d steps %7s tok  $%.2f  %s"):format(t.id, t.state, t.steps or 0,
    tokens(u.input_tokens + u.output_tokens), u.cost_usd, intent)
end

---The task id on the cursor line of the list buffer.
---@return string|nil
function M.id_at_cursor()
  local line = vim.api.nvim_get_current_line()
  return line:match("^#(%d+)")
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
  for _, t in ipairs(state.list()) do
    table.insert(lines, M.line(t))
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
