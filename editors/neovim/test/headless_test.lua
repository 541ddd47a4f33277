-- Headless end-to-end test of the Neovim setup against the real server, for Neovim 0.7+:
--   nvim --headless --clean -c "luafile editors/neovim/test/headless_test.lua"
-- (`-l` does not exist in 0.7). Inputs come from the environment (tests/test_editors.py sets them):
--   OTP_THINKING_CMD       the server command, a JSON list (default ["otp-thinking", "lsp"])
--   OTP_THINKING_FILE      the Elixir file to open: a copy of examples/, never the original
--   OTP_THINKING_EXPECTED  a file holding that buffer's text once the OTP101 fix is applied
--   OTP_THINKING_REPORT    where to write what was seen, as JSON
-- Exits 0 when every check passed, 1 otherwise (with the reason on stderr).

local started = vim.loop.hrtime()
local report = { steps = {} }

local function log(message)
  local line = string.format("[%6.2fs] %s", (vim.loop.hrtime() - started) / 1e9, message)
  table.insert(report.steps, line)
  io.stderr:write(line .. "\n")
end

local function write_report()
  local path = os.getenv("OTP_THINKING_REPORT")
  if path and path ~= "" then
    local file = assert(io.open(path, "w"))
    file:write(vim.fn.json_encode(report))
    file:close()
  end
end

local function finish(ok, reason)
  report.ok = ok
  report.error = reason
  write_report()
  if ok then
    log("PASS")
    vim.cmd("qall!")
  else
    io.stderr:write("FAIL: " .. tostring(reason) .. "\n")
    vim.cmd("cquit 1")
  end
end

local function check(condition, message)
  if not condition then
    error(message, 2)
  end
end

local function wait_for(what, timeout_ms, predicate)
  local ok = vim.wait(timeout_ms, predicate, 50)
  check(ok, "timed out after " .. timeout_ms .. " ms waiting for " .. what)
end

local function read_file(path)
  local file = assert(io.open(path, "rb"))
  local text = file:read("*a")
  file:close()
  return text
end

local function buffer_text(bufnr)
  local text = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, true), "\n")
  if vim.bo[bufnr].eol then
    text = text .. "\n"
  end
  return text
end

-- The API moved between 0.7 and 0.11; these helpers take whichever exists.
local function buffer_clients(bufnr)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ bufnr = bufnr })
  end
  return vim.tbl_values(vim.lsp.buf_get_clients(bufnr))
end

local function resolves_code_actions(client)
  local provider = client.server_capabilities and client.server_capabilities.codeActionProvider
  if provider == nil and client.resolved_capabilities then
    provider = client.resolved_capabilities.code_action
  end
  return type(provider) == "table" and provider.resolveProvider == true
end

local function otp_diagnostics(bufnr, code)
  return vim.tbl_filter(function(d)
    return d.source == "otp-thinking" and (code == nil or d.code == code)
  end, vim.diagnostic.get(bufnr))
end

local function run()
  local here = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h")
  local plugin = vim.fn.fnamemodify(here, ":h")
  vim.opt.runtimepath:prepend(plugin)
  vim.cmd("filetype on")
  log("Neovim " .. tostring(vim.version().major) .. "." .. vim.version().minor .. "." .. vim.version().patch)

  -- The 0.11+ config file is plain data: check its shape here too.
  local config = dofile(plugin .. "/lsp/otp_thinking.lua")
  check(vim.deep_equal(config.cmd, { "otp-thinking", "lsp" }), "lsp/otp_thinking.lua: unexpected cmd")
  check(vim.deep_equal(config.filetypes, { "elixir" }), "lsp/otp_thinking.lua: unexpected filetypes")
  check(vim.deep_equal(config.root_markers, { "mix.exs", ".git" }), "lsp/otp_thinking.lua: unexpected root_markers")
  check(type(config.settings) == "table", "lsp/otp_thinking.lua: settings missing")

  local cmd_json = os.getenv("OTP_THINKING_CMD")
  local cmd = (cmd_json and cmd_json ~= "") and vim.fn.json_decode(cmd_json) or { "otp-thinking", "lsp" }
  local file = assert(os.getenv("OTP_THINKING_FILE"), "OTP_THINKING_FILE is not set")
  local expected = read_file(assert(os.getenv("OTP_THINKING_EXPECTED"), "OTP_THINKING_EXPECTED is not set"))
  log("server: " .. table.concat(cmd, " "))

  -- A command that does not exist: no client, and a message that says how to fix it.
  local modern = vim.lsp.config ~= nil and vim.lsp.enable ~= nil
  log(modern and "setup() uses vim.lsp.config + vim.lsp.enable" or "setup() uses vim.lsp.start_client")
  local notified = {}
  local notify = vim.notify
  vim.notify = function(message, level)
    table.insert(notified, tostring(message))
  end
  require("otp_thinking").setup({ cmd = { "/nonexistent/otp-thinking", "lsp" } })
  vim.cmd("edit " .. vim.fn.fnameescape(vim.fn.fnamemodify(file, ":h") .. "/supplier.ex"))
  vim.wait(2000, function()
    return #notified > 0
  end, 20)
  check(#buffer_clients(0) == 0, "a client attached with a missing server command")
  local hint = table.concat(notified, " | ")
  -- 0.11+ skips a config whose cmd is not executable (`:checkhealth vim.lsp` says so), silently.
  if not modern then
    check(hint:find("could not start `/nonexistent/otp-thinking lsp`", 1, true) and hint:find("pipx install", 1, true), "no useful message for a missing server: " .. hint)
  end
  log("missing server command: no client; reported: " .. (hint ~= "" and hint or "(nothing)"))
  vim.notify = notify
  vim.cmd("bwipeout")

  -- Anything the server shows (e.g. a settings problem) fails the test.
  report.messages = {}
  vim.lsp.handlers["window/showMessage"] = function(_, result)
    table.insert(report.messages, result.message)
  end
  -- Rule settings travel as init_options and workspace/didChangeConfiguration: raise OTP101 to
  -- an error and check the diagnostic's severity below.
  require("otp_thinking").setup({ cmd = cmd, settings = { otpThinking = { rules = { OTP101 = "error" } } } })
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  local bufnr = vim.api.nvim_get_current_buf()
  check(vim.bo[bufnr].filetype == "elixir", "filetype is '" .. vim.bo[bufnr].filetype .. "', not elixir")
  local before_on_disk = read_file(file)

  wait_for("the client to attach", 10000, function()
    return #buffer_clients(bufnr) > 0
  end)
  local client = buffer_clients(bufnr)[1]
  local root = require("otp_thinking").find_root(file, config.root_markers)
  check(client.config.root_dir == root, "root_dir " .. tostring(client.config.root_dir) .. ", expected " .. root)
  log("attached client '" .. client.name .. "' with root " .. root)
  -- Record what the client asks the server, to see which code-action path it took.
  -- (0.7 calls client.request(method, ...); 0.11+ calls client:request(method, ...).)
  local requests = {}
  local request = client.request
  client.request = function(first, ...)
    table.insert(requests, type(first) == "table" and (...) or first)
    return request(first, ...)
  end

  -- The first diagnostics must already carry the configured severity: 0.11+ pulls before it
  -- answers workspace/configuration, and the server holds that first pull for the settings.
  wait_for("OTP101 diagnostics", 30000, function()
    return #otp_diagnostics(bufnr, "OTP101") > 0
  end)
  local found = otp_diagnostics(bufnr, "OTP101")
  check(#found == 1, "expected one OTP101 diagnostic, got " .. #found)
  local diagnostic = found[1]
  check(diagnostic.severity == vim.diagnostic.severity.ERROR, "OTP101 should be an error, as configured")
  local line = vim.api.nvim_buf_get_lines(bufnr, diagnostic.lnum, diagnostic.lnum + 1, true)[1]
  local covered = line:sub(diagnostic.col + 1, diagnostic.end_col)
  report.diagnostic = {
    line = diagnostic.lnum + 1,
    col = diagnostic.col,
    end_col = diagnostic.end_col,
    text = covered,
    message = diagnostic.message,
  }
  log(string.format("diagnostic %s at %d:%d-%d covers %q", diagnostic.code, diagnostic.lnum + 1, diagnostic.col, diagnostic.end_col, covered))
  check(covered:match("^Task%.async%(.*%)$") ~= nil, "the diagnostic range does not cover the Task.async call: " .. covered)
  check(#otp_diagnostics(bufnr) == 1, "unexpected other otp-thinking diagnostics")

  -- Ask for code actions at the diagnostic as a user would, and pick the OTP101 fix in the menu.
  vim.api.nvim_win_set_cursor(0, { diagnostic.lnum + 1, diagnostic.col })
  local offered, chosen
  vim.ui.select = function(items, opts, on_choice)
    offered = {}
    for _, item in ipairs(items) do
      table.insert(offered, (opts.format_item(item)))
    end
    for index, item in ipairs(items) do
      local action = item.action or item[2] -- { action = …, ctx = … } since 0.10, a tuple before
      if action.title:match("^Use Task%.Supervisor%.async_nolink") then
        chosen = action.title
        on_choice(item, index)
        return
      end
    end
    on_choice(nil, nil)
  end
  vim.lsp.buf.code_action()
  wait_for("the code action menu", 10000, function()
    return offered ~= nil
  end)
  report.offered = offered
  log("code actions offered: " .. table.concat(offered, " | "))
  check(chosen ~= nil, "no 'Use Task.Supervisor.async_nolink' action among: " .. table.concat(offered, " | "))

  wait_for("the fix to change the buffer", 10000, function()
    return buffer_text(bufnr) ~= before_on_disk
  end)
  local after = buffer_text(bufnr)
  report.buffer = after
  report.requests = requests
  log("requests after attaching: " .. table.concat(requests, ", "))
  if resolves_code_actions(client) then
    check(vim.tbl_contains(requests, "codeAction/resolve"), "the edit should come from codeAction/resolve")
  end
  check(after == expected, "buffer after the fix differs from the expected text:\n" .. after)
  log("buffer now reads: " .. vim.api.nvim_buf_get_lines(bufnr, diagnostic.lnum, diagnostic.lnum + 1, true)[1])

  -- The same WorkspaceEdit adds the Task.Supervisor child to application.ex (loaded, not saved).
  local application = root .. "/lib/storefront/application.ex"
  local app_buffer = vim.fn.bufnr(application)
  check(app_buffer ~= -1, "application.ex was not opened by the workspace edit")
  local app_text = buffer_text(app_buffer)
  check(app_text:find("{Task.Supervisor, name: Storefront.TaskSupervisor},", 1, true), "application.ex buffer lacks the child:\n" .. app_text)
  report.application_changed = true
  log("application.ex buffer gained {Task.Supervisor, name: Storefront.TaskSupervisor}")
  -- The client attaches to the buffer the edit loaded: the server is told of the added child,
  -- so another fix that needs the supervisor uses it instead of adding it a second time.
  wait_for("the client to attach to application.ex", 10000, function()
    return #buffer_clients(app_buffer) > 0
  end)
  report.application_attached = true
  log("application.ex buffer attached to the client")

  -- The server saw the edit (incremental didChange) and drops the finding.
  wait_for("the OTP101 diagnostic to go away", 15000, function()
    return #otp_diagnostics(bufnr, "OTP101") == 0
  end)
  log("OTP101 diagnostic cleared after the edit")
  check(#report.messages == 0, "the server showed messages: " .. table.concat(report.messages, " | "))
  check(read_file(file) == before_on_disk, "the file on disk changed: the edit should stay in the buffer")
end

local timer = vim.defer_fn(function()
  finish(false, "the whole test took more than 90 s")
end, 90000)

local ok, err = xpcall(run, debug.traceback)
timer:stop()
finish(ok, err)
