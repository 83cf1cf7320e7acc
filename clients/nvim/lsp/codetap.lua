-- vim.lsp.enable("codetap") reads this file: the codetap server (`codetap lsp`) with the
-- plugin's handlers for codetap/task/updated, codetap/suggestions and codetap/ask.
-- Override any field with vim.lsp.config("codetap", {...}) or vim.g.codetap.
return require("codetap.config").lsp_config()
