-- Driven by test_neovim.py in Debian's Neovim 0.7 (headless): the setup docs/lsp.md shows for 0.7
-- (vim.lsp.start_client + buf_attach_client), then a user's edits through Neovim's own buffer API,
-- so every didOpen/didChange is the one Neovim's client sends. Writes what it saw as JSON to
-- $AVMD_NVIM_OUT and quits; any failure is written there too.

local out_path = os.getenv("AVMD_NVIM_OUT")
local root = os.getenv("AVMD_NVIM_ROOT")
local avmd = os.getenv("AVMD_BIN")
local result = { steps = {} }

local function finish(err)
  result.error = err
  local f = io.open(out_path, "w")
  f:write(vim.fn.json_encode(result))
  f:close()
  vim.cmd(err and "cquit 1" or "qall!")
end

local function step(name, ok, detail)
  table.insert(result.steps, { name = name, ok = ok and true or false, detail = detail })
  if not ok then
    error(name .. ": " .. vim.inspect(detail))
  end
end

local function run()
  -- the documented Neovim 0.7 setup (docs/lsp.md)
  local client_id = vim.lsp.start_client({
    name = "avmd",
    cmd = { avmd, "lsp" },
    root_dir = root,
  })
  step("client started", client_id ~= nil, client_id)

  vim.cmd("edit " .. root .. "/src/hello_web_api.erl")
  local buf = vim.api.nvim_get_current_buf()
  vim.lsp.buf_attach_client(buf, client_id)
  local client = vim.lsp.get_client_by_id(client_id)
  step("initialized", vim.wait(30000, function() return client.initialized end, 20), nil)

  local function diagnostics()
    return vim.diagnostic.get(buf)
  end
  local function find(pred)
    for _, d in ipairs(diagnostics()) do
      if pred(d) then return d end
    end
  end

  -- type an unsupported call into the GET clause: no save
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  local at
  for i, l in ipairs(lines) do
    if l:find("hello\">> => httpd_handler:query", 1, true) then at = i end
  end
  step("found the GET clause", at ~= nil, nil)
  local t0 = vim.loop.hrtime()
  vim.api.nvim_buf_set_lines(buf, at - 1, at - 1, false, { "    _ = lists:sum([1, 2, 3])," })
  local row = at - 1 -- 0-based row of the typed line
  local miss
  vim.wait(60000, function()
    miss = find(function(d) return d.message:find("lists:sum/1 is not available on AtomVM (esp32)", 1, true) end)
    return miss ~= nil
  end, 5)
  result.typed_to_diagnostic_ms = (vim.loop.hrtime() - t0) / 1e6
  step("diagnostic without a save", miss ~= nil and miss.lnum == row, miss)
  step("file on disk unchanged", vim.bo[buf].modified, nil)

  -- hover on the call: the platform table
  local col = vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1]:find("lists:sum", 1, true) + 6
  local pos = { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = row, character = col } }
  local hover = vim.lsp.buf_request_sync(buf, "textDocument/hover", pos, 10000)
  local md = hover and hover[client_id] and hover[client_id].result and hover[client_id].result.contents.value or ""
  step("hover shows the platform table", md:find("| esp32 (project) | ✗ missing |", 1, true) ~= nil, md)
  step("hover names the alternative", md:find("lists:foldl", 1, true) ~= nil, md)

  -- completion after `lists:` lists only what esp32 has
  vim.api.nvim_buf_set_lines(buf, row + 1, row + 1, false, { "    _ = lists:" })
  local cpos = { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = row + 1, character = 14 } }
  local comp = vim.lsp.buf_request_sync(buf, "textDocument/completion", cpos, 10000)
  local items = comp and comp[client_id] and comp[client_id].result or {}
  items = items.items or items
  local labels = {}
  for _, it in ipairs(items) do labels[it.label] = true end
  step("completion has lists:map/2", labels["map/2"] == true, vim.tbl_count(labels))
  step("completion has no lists:sum", labels["sum/1"] == nil, nil)
  vim.api.nvim_buf_set_lines(buf, row + 1, row + 2, false, {})

  -- the quick fix applies, and the diagnostic clears
  miss = find(function(d) return d.message:find("lists:sum/1", 1, true) end)
  -- the context Neovim's own vim.lsp.buf.code_action() sends: the line's diagnostics in LSP form
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    range = { start = { line = miss.lnum, character = miss.col }, ["end"] = { line = miss.end_lnum, character = miss.end_col } },
    context = { diagnostics = vim.lsp.diagnostic.get_line_diagnostics(buf, miss.lnum) },
  }
  local actions = vim.lsp.buf_request_sync(buf, "textDocument/codeAction", params, 10000)
  local list = actions and actions[client_id] and actions[client_id].result or {}
  local fix
  for _, a in ipairs(list) do
    if a.title:find("Replace lists:sum/1", 1, true) then fix = a end
  end
  step("quick fix offered", fix ~= nil, list)
  vim.lsp.util.apply_workspace_edit(fix.edit, "utf-16")
  local text = vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1]
  step("quick fix applied", text:find("lists:foldl(fun(X, Acc) -> X + Acc end, 0, [1, 2, 3])", 1, true) ~= nil, text)
  step("diagnostic cleared", vim.wait(30000, function()
    return find(function(d) return d.message:find("lists:sum", 1, true) end) == nil
  end, 5), diagnostics())

  -- a syntax error appears while typing and clears when fixed
  vim.api.nvim_buf_set_lines(buf, row, row + 1, false, { "    _ = (," })
  local syn
  vim.wait(30000, function()
    syn = find(function(d) return d.source == "syntax" end)
    return syn ~= nil
  end, 5)
  step("syntax error while typing", syn ~= nil, diagnostics())
  vim.api.nvim_buf_set_lines(buf, row, row + 1, false, { "    _ = ok," })
  step("syntax error cleared", vim.wait(30000, function()
    return find(function(d) return d.source == "syntax" end) == nil
  end, 5), diagnostics())

  vim.lsp.stop_client(client_id)
  finish(nil)
end

local ok, err = pcall(run)
if not ok then finish(tostring(err)) end
