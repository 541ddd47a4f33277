"""The model: what the tool knows about an Elixir project, in Elixir's terms.

Rules and fixes ask the model (how a process is started and named, a supervisor's children,
who calls whom, what a function does); they never decode syntax for these questions. The model
reads syntax and the project index and never imports the rule API (``otp_thinking.context``,
``otp_thinking.rule``). Each kind of fact has its own module here.
"""
