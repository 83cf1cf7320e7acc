---Handlers of codetap's server -> client methods (names from the generated protocol).
local protocol = require("codetap.protocol")
local state = require("codetap.state")
local m = protocol.methods

local M = {}

local function guarded(fn)
  return function(err, params, ctx)
    if err then
      vim.notify("codetap: " .. vim.inspect(err), vim.log.levels.ERROR)
      return
    end
    local ok, problem = pcall(fn, params, ctx)
    if not ok then
      vim.notify("codetap: " .. tostring(problem), vim.log.levels.ERROR)
    end
  end
end

---Ask the user (vim.ui.select over options, else vim.ui.input); runs in the coroutine
---Neovim's RPC layer gives server requests, so asynchronous UIs work too.
---@param params codetap.AskParams
---@return codetap.AskResult|nil, lsp.ResponseError|nil
function M.ask(params)
  local options = params.options
  if (options == nil or #options == 0) and params.kind == "approval" then
    options = { "yes", "no" }
  end
  local prompt = ("codetap task %s %s: %s"):format(params.id,
    params.kind == "approval" and "asks for approval" or "asks", params.question)
  local co = coroutine.running()
  local done, answer = false, nil
  local function finish(choice)
    done, answer = true, choice
    if co and coroutine.status(co) == "suspended" then
      coroutine.resume(co)
    end
  end
  if options and #options > 0 then
    vim.ui.select(options, { prompt = prompt, kind = "codetap.ask" }, finish)
  else
    vim.ui.input({ prompt = prompt .. " " }, finish)
  end
  if not done and co then
    coroutine.yield()
  end
  if answer == nil or answer == "" then
    -- Dismissed: the question stays pending; `:Codetap answer` can still answer it.
    return nil, vim.lsp.rpc_response_error(vim.lsp.protocol.ErrorCodes.RequestCancelled,
      "dismissed by the user")
  end
  return { answer = answer }
end

---The `handlers` table for vim.lsp.Config.
---@return table<string, function>
function M.handlers()
  require("codetap").attach()
  return {
    [m.TASK_UPDATED] = guarded(function(p)
      state.task_updated(p)
    end),
    [m.TASK_EVENT] = guarded(function(p)
      state.task_event(p)
    end),
    [m.SUGGESTIONS] = guarded(function(p)
      state.set_suggestions(p)
    end),
    [m.ASK] = function(_, params)
      return M.ask(params)
    end,
  }
end

return M
