---The codetap LSP client of a buffer, and requests to it.
local protocol = require("codetap.protocol")

local M = {}

---The codetap client attached to `bufnr` (else any running codetap client).
---@param bufnr integer|nil
---@return vim.lsp.Client
function M.get(bufnr)
  local c = vim.lsp.get_clients({ name = "codetap", bufnr = bufnr or 0 })[1]
    or vim.lsp.get_clients({ name = "codetap" })[1]
  if not c then
    error("codetap is not running for this buffer (vim.lsp.enable('codetap'); "
      .. ":checkhealth codetap)", 0)
  end
  return c
end

---The file URI of the client's repository root.
---@param c vim.lsp.Client
---@return string
function M.root_uri(c)
  local dir = c.root_dir or (c.workspace_folders and c.workspace_folders[1]
    and vim.uri_to_fname(c.workspace_folders[1].uri)) or vim.fn.getcwd()
  return vim.uri_from_fname(dir)
end

---Send `method` with `params`; `on_result(result)` runs on success, errors are shown.
---@param method string
---@param params table
---@param on_result fun(result: any)|nil
---@param bufnr integer|nil
function M.request(method, params, on_result, bufnr)
  local c = M.get(bufnr)
  c:request(method, params, function(err, result)
    if err then
      vim.notify(("codetap: %s failed: %s"):format(method, err.message or vim.inspect(err)),
        vim.log.levels.ERROR)
      return
    end
    if on_result then
      on_result(result)
    end
  end, bufnr or 0)
end

---Reject hunks of a task (all of them when `hunk_ids` is nil).
---@param id string
---@param hunk_ids string[]|nil
---@param on_result fun(result: {rejected: integer})|nil
function M.reject(id, hunk_ids, on_result)
  M.request("workspace/executeCommand", {
    command = protocol.methods.CMD_REJECT,
    arguments = { { id = id, hunk_ids = hunk_ids } },
  }, on_result)
end

return M
