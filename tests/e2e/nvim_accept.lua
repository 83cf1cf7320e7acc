-- Stock Neovim 0.11 + vim.lsp, no plugin: start a codetap task with
-- workspace/executeCommand, wait for its diagnostic, apply the Accept code action,
-- write the buffer text (or the error) to $CT_OUT.
local out = os.getenv("CT_OUT")
local function finish(text, code)
  local fh = assert(io.open(out, "w"))
  fh:write(text)
  fh:close()
  vim.cmd(code == 0 and "qall!" or "cquit! " .. code)
end

local ok, err = pcall(function()
  local root = os.getenv("CT_ROOT")
  vim.lsp.config("codetap", {
    cmd = { os.getenv("CT_PYTHON"), "-m", "codetap", "lsp" },
    filetypes = { "python" },
    root_markers = { ".git" },
  })
  vim.lsp.enable("codetap")
  vim.cmd.edit(root .. "/calc.py")
  local client
  assert(vim.wait(20000, function()
    client = vim.lsp.get_clients({ bufnr = 0, name = "codetap" })[1]
    return client ~= nil and client.initialized
  end, 20), "codetap client did not attach")
  client:exec_cmd({
    title = "start",
    command = "codetap.task.start",
    arguments = { { intent = "make add add", root_uri = vim.uri_from_fname(root) } },
  }, { bufnr = 0 })
  local function codetap_diags()
    return vim.tbl_filter(function(d) return d.source == "codetap" end, vim.diagnostic.get(0))
  end
  assert(vim.wait(30000, function() return #codetap_diags() > 0 end, 20), "no codetap diagnostics")
  local d = codetap_diags()[1]
  vim.api.nvim_win_set_cursor(0, { d.lnum + 1, 0 })
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(a) return a.title:find("^codetap: Accept %(") ~= nil end,
  })
  assert(vim.wait(20000, function()
    return vim.api.nvim_buf_get_lines(0, 1, 2, false)[1] == "    return a + b"
  end, 20), "buffer was not changed")
  assert(vim.wait(10000, function() return #codetap_diags() == 0 end, 20), "diagnostic stayed")
end)
if ok then
  finish(table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n") .. "\n", 0)
else
  finish("ERROR: " .. tostring(err), 1)
end
