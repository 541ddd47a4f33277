-- otp-thinking for Neovim: `require("otp_thinking").setup()`.
--
-- On Neovim 0.11+ this is `vim.lsp.config` + `vim.lsp.enable` with lsp/otp_thinking.lua. Older
-- Neovim (0.7 to 0.10, e.g. Debian 12's 0.7.2) has neither, nor `vim.lsp.start` before 0.8, so
-- setup() starts one client per project root with `vim.lsp.start_client` and attaches every Elixir
-- buffer of that root with `vim.lsp.buf_attach_client`.

local M = {}

local NAME = "otp_thinking"

-- One client id per root directory (old Neovim only).
local clients = {}

--- The defaults from lsp/otp_thinking.lua, so both paths share one definition.
function M.defaults()
  local file = vim.api.nvim_get_runtime_file("lsp/" .. NAME .. ".lua", false)[1]
  if file then
    return dofile(file)
  end
  return { cmd = { "otp-thinking", "lsp" }, filetypes = { "elixir" }, root_markers = { "mix.exs", ".git" }, settings = {} }
end

--- The nearest folder above `path` holding one of `markers`, else the file's own folder.
function M.find_root(path, markers)
  local start = vim.fn.fnamemodify(path, ":p:h")
  local folder = start
  while true do
    for _, marker in ipairs(markers) do
      if vim.loop.fs_stat(folder .. "/" .. marker) then
        return folder
      end
    end
    local parent = vim.fn.fnamemodify(folder, ":h")
    if parent == folder then
      return start
    end
    folder = parent
  end
end

local function is_empty(value)
  return type(value) ~= "table" or next(value) == nil
end

local function live_client(root)
  local id = clients[root]
  local client = id and vim.lsp.get_client_by_id(id)
  if client and not client.is_stopped() then
    return id
  end
  clients[root] = nil
  return nil
end

--- Start (or reuse) the client for the buffer's project and attach the buffer to it.
function M.attach(bufnr, config)
  local path = vim.api.nvim_buf_get_name(bufnr)
  if path == "" or vim.bo[bufnr].buftype ~= "" then
    return nil
  end
  local root = M.find_root(path, config.root_markers)
  local id = live_client(root)
  if not id then
    local section = (config.settings or {}).otpThinking
    id = vim.lsp.start_client({
      name = NAME,
      cmd = config.cmd,
      root_dir = root,
      settings = config.settings,
      -- An empty Lua table would be sent as a JSON array: send nothing instead.
      init_options = not is_empty(section) and section or nil,
      capabilities = config.capabilities,
      on_attach = config.on_attach,
      on_init = function(client)
        -- Neovim < 0.8 does not advertise workspace/configuration, so the server never asks:
        -- push the settings once instead.
        if not is_empty(section) then
          client.notify("workspace/didChangeConfiguration", { settings = { otpThinking = section } })
        end
      end,
    })
    if not id then
      vim.notify(
        "otp-thinking: could not start `" .. table.concat(config.cmd, " ") .. "`. Install the server "
          .. "(`pipx install .` in a clone of otp-thinking) or pass its command to setup(), e.g. "
          .. '{ cmd = { "/path/to/.venv/bin/python", "-m", "otp_thinking", "lsp" } }',
        vim.log.levels.ERROR
      )
      return nil
    end
    clients[root] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

--- Enable otp-thinking for Elixir buffers. `opts` overrides lsp/otp_thinking.lua
--- (`cmd`, `filetypes`, `root_markers`, `settings`, `capabilities`, `on_attach`).
function M.setup(opts)
  local config = vim.tbl_deep_extend("force", M.defaults(), opts or {})
  if vim.lsp.config ~= nil and vim.lsp.enable ~= nil then
    vim.lsp.config(NAME, config)
    vim.lsp.enable(NAME)
    return
  end
  local group = vim.api.nvim_create_augroup(NAME, { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = config.filetypes,
    callback = function(args)
      M.attach(args.buf, config)
    end,
  })
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(config.filetypes, vim.bo[bufnr].filetype) then
      M.attach(bufnr, config)
    end
  end
end

return M
