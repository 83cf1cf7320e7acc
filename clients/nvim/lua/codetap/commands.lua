---`:Codetap {sub} [args]`: the subcommands. Each validates its arguments and reports
---problems with vim.notify (ERROR) without changing anything.
local client = require("codetap.client")
local config = require("codetap.config")
local diff = require("codetap.diff")
local protocol = require("codetap.protocol")
local state = require("codetap.state")
local m = protocol.methods

local M = {}

local function fail(msg)
  error(msg, 0)
end

---The task an id argument names, else the one whose hunk is under the cursor, else the
---only task with suggestions in this buffer.
---@param arg string|nil
---@return string
local function task_id(arg)
  if arg and arg ~= "" and arg ~= "all" then
    if not arg:match("^%d+$") then
      fail(("codetap: task ids are numbers, got %q"):format(arg))
    end
    return arg
  end
  local p = diff.hunk_at_cursor()
  if p then
    return p.task_id
  end
  local ids = {}
  for _, h in ipairs(state.hunks_in(vim.uri_from_bufnr(0))) do
    ids[h.task_id] = true
  end
  local keys = vim.tbl_keys(ids)
  if #keys == 1 then
    return keys[1]
  end
  fail("codetap: which task? give its id (see :Codetap tasks)")
end

local function updated(result)
  state.task_updated(result)
  vim.notify(("codetap: task %s is %s"):format(result.id, result.state))
end

local function simple(method)
  return function(args)
    client.request(method, { id = task_id(args[1]) }, updated)
  end
end

---Accept (or reject) the hunk under the cursor; `all` / an id: the whole task.
local function review(accept)
  return function(args)
    local id, hunks
    if args[1] == nil then
      local p = diff.hunk_at_cursor()
      if not p then
        fail("codetap: no suggestion under the cursor (use :Codetap "
          .. (accept and "accept" or "reject") .. " all, or a task id)")
      end
      id, hunks = p.task_id, { p.hunk.hunk_id }
    else
      id = task_id(args[1])
    end
    if accept then
      client.request(m.TASK_APPLY, { id = id, hunk_ids = hunks }, function(r)
        local msg = ("codetap: applied %d change(s)"):format(r.applied)
        if r.conflicts > 0 then
          msg = msg .. (", %d conflict(s) not applied: the buffer changed there"):format(r.conflicts)
        end
        vim.notify(msg, r.conflicts > 0 and vim.log.levels.WARN or vim.log.levels.INFO)
      end)
    else
      client.reject(id, hunks, function(r)
        vim.notify(("codetap: rejected %d suggestion(s)"):format(r.rejected))
      end)
    end
  end
end

M.subcommands = {
  ---`:[range]Codetap task {intent}`: start a task (scoped to the range if given).
  task = function(args, opts)
    local intent = table.concat(args, " ")
    if vim.trim(intent) == "" then
      fail("codetap: usage: :[range]Codetap task {what should be done}")
    end
    local c = client.get(0)
    local params = { intent = intent, root_uri = client.root_uri(c), model = config.get().model }
    if opts.range > 0 and vim.api.nvim_buf_get_name(0) ~= "" then
      params.scope = {
        uri = vim.uri_from_bufnr(0),
        range = { start = { line = opts.line1 - 1, character = 0 },
                  ["end"] = { line = opts.line2, character = 0 } },
      }
    end
    client.request(m.TASK_START, params, function(r)
      state.task_updated(r)
      vim.notify(("codetap: task %s started: %s"):format(r.id, r.intent))
    end)
  end,
  tasks = function()
    require("codetap.tasklist").open(config.get().list_height)
    client.request(m.TASK_LIST, vim.empty_dict(), state.replace_tasks)
  end,
  diff = function(args)
    local id = task_id(args[1])
    local lines = diff.task_diff(id)
    if #lines == 0 then
      fail(("codetap: task %s has no pending suggestions"):format(id))
    end
    vim.cmd("tabnew")
    local b = vim.api.nvim_get_current_buf()
    vim.api.nvim_buf_set_lines(b, 0, -1, false, lines)
    vim.bo[b].buftype, vim.bo[b].bufhidden, vim.bo[b].filetype = "nofile", "wipe", "diff"
    vim.bo[b].modifiable = false
    pcall(vim.api.nvim_buf_set_name, b, "codetap://diff/" .. id)
  end,
  accept = review(true),
  reject = review(false),
  cancel = simple(m.TASK_CANCEL),
  pause = simple(m.TASK_PAUSE),
  resume = simple(m.TASK_RESUME),
  discard = simple(m.TASK_DISCARD),
  rollback = function(args)
    local step = tonumber(args[2] or "")
    if not step or not (args[2] or ""):match("^%d+$") then
      fail("codetap: usage: :Codetap rollback {id} {step}")
    end
    client.request(m.TASK_ROLLBACK, { id = task_id(args[1]), step = step }, updated)
  end,
  answer = function(args)
    local id = task_id(args[1])
    local text = table.concat(vim.list_slice(args, 2), " ")
    if text == "" then
      fail("codetap: usage: :Codetap answer {id} {answer}")
    end
    client.request(m.ANSWER, { id = id, answer = text }, updated)
  end,
}

---Entry point of :Codetap (plugin/codetap.lua).
---@param opts table nvim_create_user_command callback argument
function M.run(opts)
  require("codetap").attach()
  local args = vim.split(vim.trim(opts.args), "%s+", { trimempty = true })
  local sub = table.remove(args, 1)
  local fn = sub and M.subcommands[sub]
  local ok, err = pcall(function()
    if not fn then
      fail(("codetap: unknown subcommand %q; one of: %s"):format(sub or "",
        table.concat(M.names(), ", ")))
    end
    fn(args, opts)
  end)
  if not ok then
    vim.notify(tostring(err), vim.log.levels.ERROR)
  end
end

---@return string[]
function M.names()
  local names = vim.tbl_keys(M.subcommands)
  table.sort(names)
  return names
end

---Completion of :Codetap: subcommands, then task ids.
function M.complete(arglead, cmdline)
  local words = vim.split(cmdline, "%s+", { trimempty = true })
  if #words <= 1 or (#words == 2 and arglead ~= "") then
    return vim.tbl_filter(function(n)
      return n:find(arglead, 1, true) == 1
    end, M.names())
  end
  return vim.tbl_map(function(t)
    return t.id
  end, state.list())
end

return M
