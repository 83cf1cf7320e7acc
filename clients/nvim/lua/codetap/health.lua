---:checkhealth codetap
local M = {}

function M.check()
  local h = vim.health
  h.start("codetap")
  if vim.fn.has("nvim-0.10") == 1 then
    h.ok("Neovim " .. tostring(vim.version()))
  else
    h.error("Neovim >= 0.10 is required")
  end
  local c = require("codetap.config")
  local cfg = c.get()
  for _, k in ipairs(c.unknown_keys()) do
    local known = vim.tbl_keys(c.defaults)
    table.insert(known, "model")
    table.sort(known)
    h.warn(("unknown setting %q; known: %s"):format(k, table.concat(known, ", ")))
  end
  local exe = cfg.cmd[1]
  if exe and vim.fn.executable(exe) == 1 then
    h.ok(("server command: %s"):format(table.concat(cfg.cmd, " ")))
    local out = vim.system({ exe, "--version" }, { text = true }):wait(5000)
    if out.code == 0 then
      h.ok("codetap --version: " .. vim.trim(out.stdout or ""))
    else
      h.warn("`" .. exe .. " --version` failed: " .. vim.trim(out.stderr or ""))
    end
  else
    h.error(("%q is not executable"):format(tostring(exe)),
      { "install codetap, or set vim.g.codetap = { cmd = { '/path/to/codetap', 'lsp' } }" })
  end
  if vim.lsp.config and vim.lsp.is_enabled and not vim.lsp.is_enabled("codetap") then
    h.warn("the codetap server is not enabled", { "add vim.lsp.enable('codetap') to your config" })
  end
  local clients = vim.lsp.get_clients({ name = "codetap" })
  if #clients > 0 then
    h.ok(("%d codetap client(s) running (root %s)"):format(#clients,
      tostring(clients[1].root_dir)))
  else
    h.info("no codetap client is running (open a file in a git repository)")
  end
end

return M
