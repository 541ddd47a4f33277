"""The model: what the tool knows about an Elixir project, in Elixir's terms.

Rules and fixes ask the model (how a process is started and named, a supervisor's children,
who calls whom, what a function does); they never decode syntax for these questions. The model
reads syntax and the project index and never imports the rule API (``otp_thinking.context``,
``otp_thinking.rule``). Each kind of fact has its own module here:

- ``clauses``: a ``def`` head (name, parameters, guard), a module's clauses by name and arity;
- ``calls``: a call with the pipe undone (arguments, arity, piped or not), where it is written;
- ``modules``: per module, its full name, ``use``s, aliases, behaviours, clauses, resources;
- ``effects``: what a function does (blocks, acts outside the process), across helpers, and
  which functions of other modules it calls (followed across the project by ``project``);
- ``producers``: what feeds a GenStage producer;
- ``supervision``: supervisors' children in every spelling, and the names started.
"""
