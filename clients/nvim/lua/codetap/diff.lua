---Inline diffs with extmarks: removed lines highlighted, added lines as virtual lines
---below them, conflicts marked; and the whole-task unified diff buffer.
local state = require("codetap.state")

local M = {}

M.ns = vim.api.nvim_create_namespace("codetap")

---Highlight groups (linked to diff groups by default; override them in a colorscheme).
function M.highlights()
  local set = vim.api.nvim_set_hl
  set(0, "CodetapRemoved", { default = true, link = "DiffDelete" })
  set(0, "CodetapAdded", { default = true, link = "DiffAdd" })
  set(0, "CodetapConflict", { default = true, link = "DiffText" })
  set(0, "CodetapHint", { default = true, link = "Comment" })
end

---The 0-based lines `range` covers (end at character 0 does not cover that line).
---@param range codetap.Range
---@return integer first, integer last
function M.covered(range)
  local last = range["end"].line
  if range["end"].character == 0 and last > range.start.line then
    last = last - 1
  end
  return range.start.line, last
end

---@param text string
---@return string[]
local function split(text)
  if text == "" then
    return {}
  end
  local lines = vim.split(text, "\n", { plain = true })
  if lines[#lines] == "" then
    table.remove(lines)
  end
  return lines
end

---Draw the hunks of `bufnr` (clears the old marks first).
---@param bufnr integer
function M.render(bufnr)
  if not vim.api.nvim_buf_is_loaded(bufnr) then
    return
  end
  vim.api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" then
    return
  end
  local count = vim.api.nvim_buf_line_count(bufnr)
  for _, p in ipairs(state.hunks_in(vim.uri_from_bufnr(bufnr))) do
    local h = p.hunk
    local first, last = M.covered(h.range)
    local removing = h.old_text ~= "" and (h.range.start.line ~= h.range["end"].line
      or h.range.start.character ~= h.range["end"].character)
    local hl = h.conflict and "CodetapConflict" or "CodetapRemoved"
    local label = h.conflict and ("codetap #%s: conflict (buffer changed here)"):format(p.task_id)
      or ("codetap #%s"):format(p.task_id)
    if removing then
      for line = first, math.min(last, count - 1) do
        vim.api.nvim_buf_set_extmark(bufnr, M.ns, line, 0, {
          line_hl_group = hl, priority = 200,
          virt_text = line == first and { { label, "CodetapHint" } } or nil,
          virt_text_pos = line == first and "eol" or nil,
        })
      end
    end
    local added = vim.tbl_map(function(l)
      return { { "+ " .. l, h.conflict and "CodetapConflict" or "CodetapAdded" } }
    end, split(h.new_text))
    if not removing then
      table.insert(added, 1, { { label, "CodetapHint" } })
    end
    if #added > 0 then
      local anchor = removing and math.min(last, count - 1) or first
      local above = not removing
      if above and anchor >= count then
        anchor, above = count - 1, false
      end
      vim.api.nvim_buf_set_extmark(bufnr, M.ns, anchor, 0, {
        virt_lines = added, virt_lines_above = above, priority = 200,
      })
    end
  end
end

---Redraw every loaded buffer.
function M.render_all()
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(b) and vim.bo[b].buftype == "" then
      M.render(b)
    end
  end
end

---The hunk under the cursor of the current window, if any.
---@return codetap.PlacedHunk|nil
function M.hunk_at_cursor()
  local line = vim.api.nvim_win_get_cursor(0)[1] - 1
  for _, p in ipairs(state.hunks_in(vim.uri_from_bufnr(0))) do
    local first, last = M.covered(p.hunk.range)
    if line >= first and line <= math.max(first, last) then
      return p
    end
  end
  return nil
end

---Byte offset in `text` (lines joined by "\n") of an LSP position (UTF-16 character).
---@param lines string[]
---@param pos codetap.Position
---@return integer 0-based byte offset
local function offset(lines, pos)
  local off = 0
  for i = 1, math.min(pos.line, #lines) do
    off = off + #lines[i] + 1
  end
  local line = lines[pos.line + 1]
  if line == nil then
    return off
  end
  local ok, col = pcall(vim.str_byteindex, line, "utf-16", pos.character, false)
  return off + (ok and col or #line)
end

---`lines` with the clean hunks applied (bottom-up), as text.
---@param lines string[]
---@param hunks codetap.SuggestionHunk[]
---@return string
function M.apply(lines, hunks)
  local text = table.concat(lines, "\n") .. "\n"
  local clean = vim.tbl_filter(function(h)
    return not h.conflict
  end, hunks)
  table.sort(clean, function(a, b)
    return a.range.start.line > b.range.start.line
  end)
  for _, h in ipairs(clean) do
    local s, e = offset(lines, h.range.start), offset(lines, h.range["end"])
    text = text:sub(1, s) .. h.new_text .. text:sub(e + 1)
  end
  return text
end

---The unified diff of task `id`'s pending suggestions (current text -> suggested text).
---@param id string
---@return string[]
function M.task_diff(id)
  local out = {}
  local diff = (vim.text and vim.text.diff) or vim.diff
  for _, f in ipairs(state.suggestions[id] or {}) do
    local path = vim.uri_to_fname(f.uri)
    local bufnr = vim.fn.bufnr(path)
    local lines = bufnr > 0 and vim.api.nvim_buf_is_loaded(bufnr)
        and vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
      or (vim.fn.filereadable(path) == 1 and vim.fn.readfile(path) or {})
    local rel = vim.fn.fnamemodify(path, ":.")
    table.insert(out, ("--- a/%s"):format(rel))
    table.insert(out, ("+++ b/%s (codetap task %s)"):format(rel, id))
    local old = table.concat(lines, "\n") .. "\n"
    local patch = diff(old, M.apply(lines, f.hunks), { result_type = "unified", ctxlen = 3 })
    vim.list_extend(out, split(patch --[[@as string]]))
    for _, h in ipairs(f.hunks) do
      if h.conflict then
        table.insert(out, ("# conflict at line %d (not applied)"):format(h.range.start.line + 1))
      end
    end
  end
  return out
end

return M
