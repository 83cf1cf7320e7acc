---codetap for Neovim. No setup() call is needed; `setup(opts)` only changes settings
---(see lua/codetap/config.lua and :help codetap).
local M = {}

local attached = false

---Connect the state to the views once (inline diffs, task list).
function M.attach()
  if attached then
    return
  end
  attached = true
  local diff = require("codetap.diff")
  diff.highlights()
  require("codetap.state").on_change(function()
    if require("codetap.config").get().inline then
      diff.render_all()
    end
    require("codetap.tasklist").render()
  end)
  vim.api.nvim_create_autocmd({ "BufWinEnter", "ColorScheme" }, {
    group = vim.api.nvim_create_augroup("codetap", { clear = true }),
    callback = function(ev)
      if ev.event == "ColorScheme" then
        diff.highlights()
      elseif vim.bo[ev.buf].buftype == "" then
        diff.render(ev.buf)
      end
    end,
  })
end

---@param opts table|nil settings (see :help codetap-settings)
function M.setup(opts)
  require("codetap.config").setup(opts)
end

return M
