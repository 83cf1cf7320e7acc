---Settings of the codetap plugin, read in this one place.
---
---Sources, later wins: the defaults below, `vim.g.codetap` (a table, may be set before
---the plugin loads), `require("codetap").setup(opts)` (optional). Unknown keys are
---reported by `:checkhealth codetap`.
local M = {}

---@class codetap.Config
---@field cmd string[] server command line (stdio LSP)
---@field filetypes string[]|nil filetypes the client attaches to (nil = all)
---@field root_markers string[] files marking the repository root
---@field model string|nil model name for new tasks (nil = the daemon's default)
---@field ask boolean answer codetap/ask with vim.ui.select / vim.ui.input
---@field inline boolean draw codetap/suggestions as extmarks
---@field list_height integer height of the :Codetap tasks window
M.defaults = {
  cmd = { "codetap", "lsp" },
  filetypes = { "python", "javascript", "typescript", "go", "rust", "c", "cpp", "lua", "java" },
  root_markers = { ".git" },
  model = nil,
  ask = true,
  inline = true,
  list_height = 10,
}

local overrides = {} ---@type table

---Merge `opts` into the settings (no call is needed to get the defaults).
---@param opts table|nil
function M.setup(opts)
  overrides = vim.tbl_deep_extend("force", overrides, opts or {})
end

---The current settings.
---@return codetap.Config
function M.get()
  local g = type(vim.g.codetap) == "table" and vim.g.codetap or {}
  return vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), g, overrides)
end

---Keys given by the user that the plugin does not know.
---@return string[]
function M.unknown_keys()
  local out = {}
  local g = type(vim.g.codetap) == "table" and vim.g.codetap or {}
  for _, src in ipairs({ g, overrides }) do
    for k in pairs(src) do
      if M.defaults[k] == nil and k ~= "model" then
        table.insert(out, k)
      end
    end
  end
  return out
end

---The vim.lsp.Config of the codetap server (used by lsp/codetap.lua).
---@return vim.lsp.Config
function M.lsp_config()
  local c = M.get()
  return {
    cmd = c.cmd,
    filetypes = c.filetypes,
    root_markers = c.root_markers,
    init_options = { codetap = { ask = c.ask, suggestions = c.inline, events = true } },
    handlers = require("codetap.handlers").handlers(),
  }
end

return M
