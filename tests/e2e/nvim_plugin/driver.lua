-- Drives the codetap Neovim plugin headless against the real daemon; scenario from
-- $CT_SCENARIO. Observations are written as JSON to $CT_OUT (pytest asserts on them).
local root = assert(os.getenv("CT_ROOT"))
local out = assert(os.getenv("CT_OUT"))
local scenario = assert(os.getenv("CT_SCENARIO"))
local obs = { notes = {}, list_states = {} }

local function finish(code)
  local fh = assert(io.open(out, "w"))
  fh:write(vim.json.encode(obs))
  fh:close()
  vim.cmd(code == 0 and "qall!" or "cquit! " .. code)
end

local function wait(ms, what, pred)
  assert(vim.wait(ms, pred, 20), "timed out: " .. what)
end

vim.notify = function(msg, level)
  table.insert(obs.notes, { msg = msg, level = level or vim.log.levels.INFO })
end

local function marks(buf)
  local ns = require("codetap.diff").ns
  local out_marks = {}
  for _, mk in ipairs(vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, { details = true })) do
    local d = mk[4]
    local virt = {}
    for _, vl in ipairs(d.virt_lines or {}) do
      table.insert(virt, { vl[1][1], vl[1][2] })
    end
    table.insert(out_marks, { row = mk[2], hl = d.line_hl_group, virt_lines = virt,
      above = d.virt_lines_above or false })
  end
  return out_marks
end

local function lines(buf)
  return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
end

local function start(model)
  obs.lazy_before = package.loaded["codetap.commands"] == nil
  obs.command_defined = vim.fn.exists(":Codetap") == 2
  vim.g.codetap = { cmd = { os.getenv("CT_PYTHON"), "-m", "codetap", "lsp" },
    filetypes = { "python" }, model = model }
  vim.lsp.enable("codetap")
  vim.cmd.edit(root .. "/calc.py")
  local buf = vim.api.nvim_get_current_buf()
  wait(20000, "client attach", function()
    local c = vim.lsp.get_clients({ bufnr = buf, name = "codetap" })[1]
    return c ~= nil and c.initialized
  end)
  return buf
end

local function only_task()
  return require("codetap.state").list()[1]
end

local function wait_suggestions(buf)
  wait(30000, "inline diff", function()
    local t = only_task()
    return t and t.state == "ready" and #marks(buf) > 0
  end)
end

local scenarios = {}

function scenarios.accept()
  local buf = start("slow")
  local code_win = vim.api.nvim_get_current_win()
  vim.cmd("Codetap tasks")
  local list_buf = vim.fn.bufnr("codetap://tasks")
  obs.list_empty = lines(list_buf)
  vim.api.nvim_set_current_win(code_win)
  vim.cmd("Codetap task make add add")
  local seen = {}
  wait(30000, "task ready in the list", function()
    for _, l in ipairs(lines(list_buf)) do
      local st = l:match("^#%d+%s+(%a+)")
      if st and not seen[st] then
        seen[st] = true
        table.insert(obs.list_states, st)
      end
    end
    return seen.ready == true
  end)
  wait_suggestions(buf)
  obs.list_ready = lines(list_buf)
  obs.marks = marks(buf)
  vim.api.nvim_set_current_win(code_win)
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.cmd("Codetap diff")
  obs.diff = lines(0)
  vim.cmd("tabclose")
  vim.api.nvim_set_current_win(code_win)
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.cmd("Codetap accept")
  wait(20000, "buffer changed", function()
    return lines(buf)[2] == "    return a + b"
  end)
  wait(10000, "marks cleared and task applied", function()
    return #marks(buf) == 0 and only_task().state == "applied"
  end)
  obs.text = lines(buf)
  obs.list_applied = lines(list_buf)
end

function scenarios.conflict()
  local buf = start(nil)
  vim.cmd("Codetap task make add add")
  wait_suggestions(buf)
  obs.marks = marks(buf)
  vim.api.nvim_buf_set_lines(buf, 1, 2, false, { "    return a - b  # mine" })
  wait(20000, "conflict shown", function()
    local hs = require("codetap.state").hunks_in(vim.uri_from_bufnr(buf))
    return #hs == 1 and hs[1].hunk.conflict
  end)
  vim.wait(200)
  obs.conflict_marks = marks(buf)
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.cmd("Codetap accept")
  wait(20000, "apply result", function()
    return vim.iter(obs.notes):any(function(n)
      return n.msg:find("applied", 1, true) ~= nil
    end)
  end)
  obs.text = lines(buf)
  vim.cmd("Codetap accept 99x")
end

function scenarios.ask()
  local asked = {}
  vim.ui.select = function(items, opts, on_choice)
    table.insert(asked, { items = items, prompt = opts.prompt })
    vim.defer_fn(function()
      on_choice(items[1])
    end, 100)
  end
  local buf = start("asker")
  vim.cmd("Codetap task make add add")
  wait_suggestions(buf)
  obs.asked = asked
  obs.marks = marks(buf)
end

local ok, err = pcall(scenarios[scenario])
if not ok then
  obs.error = tostring(err)
  finish(1)
else
  finish(0)
end
