"""otp-thinking: OTP design advice for Elixir code, as a language server and a CLI."""

__version__ = "0.1.0"
