---What the server last told this Neovim: tasks (codetap/task/updated, task/list results)
---and suggestions (codetap/suggestions), plus change listeners.
local M = {}

---@type table<string, codetap.TaskInfo>
M.tasks = {}
---@type table<string, codetap.FileSuggestions[]>
M.suggestions = {}
---@type table<string, string>
M.last_event = {}

local listeners = {} ---@type fun()[]

---Run `fn` (scheduled) after each change.
---@param fn fun()
function M.on_change(fn)
  table.insert(listeners, fn)
end

local pending = false
local function changed()
  if pending then
    return
  end
  pending = true
  vim.schedule(function()
    pending = false
    for _, fn in ipairs(listeners) do
      local ok, err = pcall(fn)
      if not ok then
        vim.notify("codetap: " .. tostring(err), vim.log.levels.ERROR)
      end
    end
  end)
end

---Record a TaskInfo; raises on a malformed one (state unchanged).
---@param info any
---@return codetap.TaskInfo
function M.task_updated(info)
  if type(info) ~= "table" or type(info.id) ~= "string" or type(info.state) ~= "string" then
    error("bad TaskInfo: needs string 'id' and 'state', got " .. vim.inspect(info), 0)
  end
  M.tasks[info.id] = info
  if info.state ~= "ready" then
    M.suggestions[info.id] = nil
  end
  changed()
  return info
end

---Replace every task (codetap/task/list result).
---@param result codetap.TaskListResult
function M.replace_tasks(result)
  M.tasks = {}
  for _, t in ipairs(result.tasks or {}) do
    M.tasks[t.id] = t
  end
  changed()
end

---@param params codetap.TaskEventParams
function M.task_event(params)
  M.last_event[params.id] = params.kind
  changed()
end

---All current suggestions of one task (empty files = withdrawn).
---@param params codetap.SuggestionsParams
function M.set_suggestions(params)
  if type(params) ~= "table" or type(params.id) ~= "string" or type(params.files) ~= "table" then
    error("bad codetap/suggestions params: " .. vim.inspect(params), 0)
  end
  local files = vim.tbl_filter(function(f)
    return #(f.hunks or {}) > 0
  end, params.files)
  M.suggestions[params.id] = #files > 0 and files or nil
  changed()
end

---Tasks, newest first.
---@return codetap.TaskInfo[]
function M.list()
  local out = vim.tbl_values(M.tasks)
  table.sort(out, function(a, b)
    return (tonumber(a.id) or 0) > (tonumber(b.id) or 0)
  end)
  return out
end

---@class codetap.PlacedHunk
---@field task_id string
---@field uri string
---@field version integer|nil
---@field hunk codetap.SuggestionHunk

---Every hunk shown in `uri`, across tasks, ordered by line.
---@param uri string
---@return codetap.PlacedHunk[]
function M.hunks_in(uri)
  local out = {}
  for task_id, files in pairs(M.suggestions) do
    for _, f in ipairs(files) do
      if f.uri == uri then
        for _, h in ipairs(f.hunks) do
          table.insert(out, { task_id = task_id, uri = uri, version = f.version, hunk = h })
        end
      end
    end
  end
  table.sort(out, function(a, b)
    return a.hunk.range.start.line < b.hunk.range.start.line
  end)
  return out
end

return M
