-- Defines :Codetap only; every module loads on first use.
if vim.g.loaded_codetap then
  return
end
vim.g.loaded_codetap = true

vim.api.nvim_create_user_command("Codetap", function(opts)
  require("codetap.commands").run(opts)
end, {
  nargs = "*",
  range = true,
  bang = true,
  desc = "codetap: task, tasks, diff, accept, reject, cancel, pause, resume, discard",
  complete = function(arglead, cmdline)
    return require("codetap.commands").complete(arglead, cmdline)
  end,
})
