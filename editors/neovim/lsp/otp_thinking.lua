---@brief
---
--- otp-thinking: OTP design advice for Elixir (diagnostics, hovers, quick fixes).
---
--- Install the server (Python 3.11+): `pipx install .` in a clone of otp-thinking, then, with
--- this folder on 'runtimepath', in Neovim 0.11+:
---
--- ```lua
--- vim.lsp.enable("otp_thinking")
--- ```
---
--- Rule settings go under `settings.otpThinking` (the keys of `.otp-thinking.toml`):
---
--- ```lua
--- vim.lsp.config("otp_thinking", {
---   settings = { otpThinking = { rules = { OTP101 = "error", ["dets-size-limit"] = "off" } } },
--- })
--- ```
---
--- It runs beside ElixirLS, Lexical or Expert: each is its own client on the same buffer.

---@type vim.lsp.Config
return {
  cmd = { "otp-thinking", "lsp" },
  filetypes = { "elixir" },
  root_markers = { "mix.exs", ".git" },
  settings = {},
}
