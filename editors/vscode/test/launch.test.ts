import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";

import {
  isProblem,
  type Launch,
  type LaunchDeps,
  parseProbe,
  type Problem,
  probePython,
  type PythonProbe,
  resolveLaunch,
  which,
} from "../src/launch";
import { readServerSettings } from "../src/settings";

const defaults = readServerSettings({ get: () => undefined });

function deps(found: Record<string, string>, probes: Record<string, PythonProbe> = {}, active?: string): LaunchDeps {
  return {
    which: (command) => found[command],
    probePython: async (python) => probes[python] ?? { kind: "not-found" },
    activeInterpreter: async () => active,
  };
}

function asLaunch(value: Launch | Problem): Launch {
  assert.ok(!isProblem(value), `expected a launch, got: ${JSON.stringify(value)}`);
  return value;
}

function asProblem(value: Launch | Problem): Problem {
  assert.ok(isProblem(value), `expected a problem, got: ${JSON.stringify(value)}`);
  return value;
}

const good: PythonProbe = { kind: "ok", version: [3, 12, 1], hasPackage: true, executable: "/venv/bin/python" };

test("the command on PATH runs with lsp and the extra args", async () => {
  const launch = asLaunch(
    await resolveLaunch({ ...defaults, args: ["--log", "x"] }, deps({ "otp-thinking": "/usr/bin/otp-thinking" })),
  );
  assert.equal(launch.command, "/usr/bin/otp-thinking");
  assert.deepEqual(launch.args, ["lsp", "--log", "x"]);
});

test("a missing command says so and how to install it", async () => {
  const problem = asProblem(await resolveLaunch(defaults, deps({})));
  assert.match(problem.message, /"otp-thinking" was not found on PATH/);
  assert.match(problem.fix, /"pipx install \." in a clone of otp-thinking/);
  assert.match(problem.fix, /otpThinking\.server\.pythonPath/);
});

test("a missing custom command names the path", async () => {
  const problem = asProblem(await resolveLaunch({ ...defaults, command: "/nope/otp-thinking" }, deps({})));
  assert.match(problem.message, /"\/nope\/otp-thinking" was not found\./);
});

test("a Python interpreter runs the module", async () => {
  const launch = asLaunch(
    await resolveLaunch({ ...defaults, pythonPath: "/venv/bin/python" }, deps({}, { "/venv/bin/python": good })),
  );
  assert.deepEqual([launch.command, ...launch.args], ["/venv/bin/python", "-m", "otp_thinking", "lsp"]);
});

test("the interpreter setting wins over the command on PATH", async () => {
  const launch = asLaunch(
    await resolveLaunch(
      { ...defaults, pythonPath: "/venv/bin/python" },
      deps({ "otp-thinking": "/usr/bin/otp-thinking" }, { "/venv/bin/python": good }),
    ),
  );
  assert.equal(launch.command, "/venv/bin/python");
});

test("a missing interpreter, an old one and one without the package each get their own fix", async () => {
  const missing = asProblem(await resolveLaunch({ ...defaults, pythonPath: "/gone/python" }, deps({})));
  assert.match(missing.message, /"\/gone\/python" \(otpThinking\.server\.pythonPath\) was not found/);

  const old: PythonProbe = { kind: "ok", version: [3, 9, 2], hasPackage: true, executable: "/usr/bin/python3.9" };
  const tooOld = asProblem(await resolveLaunch({ ...defaults, pythonPath: "py39" }, deps({}, { py39: old })));
  assert.match(tooOld.message, /is Python 3\.9\.2; the otp-thinking server needs Python 3\.11 or newer/);

  const bare: PythonProbe = { ...good, hasPackage: false };
  const noPackage = asProblem(await resolveLaunch({ ...defaults, pythonPath: "/usr/bin/python3" }, deps({}, { "/usr/bin/python3": bare })));
  assert.match(noPackage.message, /not installed in "\/usr\/bin\/python3"/);
  assert.match(noPackage.fix, /"\/usr\/bin\/python3 -m pip install \." in a clone of otp-thinking/);

  const broken = asProblem(
    await resolveLaunch({ ...defaults, pythonPath: "weird" }, deps({}, { weird: { kind: "failed", detail: "boom" } })),
  );
  assert.match(broken.message, /could not be run: boom/);
});

test("without the command on PATH, the Python extension's interpreter is used when it has the package", async () => {
  const launch = asLaunch(await resolveLaunch(defaults, deps({}, { "/proj/.venv/bin/python": good }, "/proj/.venv/bin/python")));
  assert.deepEqual([launch.command, ...launch.args], ["/proj/.venv/bin/python", "-m", "otp_thinking", "lsp"]);

  const bare: PythonProbe = { ...good, hasPackage: false };
  asProblem(await resolveLaunch(defaults, deps({}, { "/proj/.venv/bin/python": bare }, "/proj/.venv/bin/python")));
});

test("which finds executables on PATH and by path, never plain files", () => {
  const folder = mkdtempSync(path.join(tmpdir(), "otp-which-"));
  const tool = path.join(folder, "otp-thinking");
  writeFileSync(tool, "#!/bin/sh\n");
  chmodSync(tool, 0o755);
  writeFileSync(path.join(folder, "plain"), "");
  const env = { PATH: ["/nonexistent", folder].join(path.delimiter) };
  assert.equal(which("otp-thinking", env, "linux"), tool);
  assert.equal(which(tool, {}, "linux"), tool);
  assert.equal(which("plain", env, "linux"), undefined);
  assert.equal(which("missing", env, "linux"), undefined);
});

test("probe output is parsed, junk is not", () => {
  assert.deepEqual(parseProbe('{"version": [3, 11, 7], "package": true, "executable": "/p"}\n'), {
    kind: "ok",
    version: [3, 11, 7],
    hasPackage: true,
    executable: "/p",
  });
  assert.equal(parseProbe("Python 2.7"), undefined);
  assert.equal(parseProbe('{"version": "3.11"}'), undefined);
});

test("probing real processes: a missing file, a fake old Python, a script that fails", async () => {
  assert.deepEqual(await probePython("/nonexistent/python3"), { kind: "not-found" });

  const folder = mkdtempSync(path.join(tmpdir(), "otp-probe-"));
  const old = path.join(folder, "python3.8");
  writeFileSync(old, `#!/bin/sh\necho '{"version": [3, 8, 10], "package": false, "executable": "${old}"}'\n`);
  chmodSync(old, 0o755);
  const probe = await probePython(old);
  assert.deepEqual(probe, { kind: "ok", version: [3, 8, 10], hasPackage: false, executable: old });
  const problem = asProblem(await resolveLaunch({ ...defaults, pythonPath: old }, { which: () => undefined, probePython }));
  assert.match(problem.message, /is Python 3\.8\.10/);

  const failing = path.join(folder, "python-broken");
  writeFileSync(failing, "#!/bin/sh\necho 'SyntaxError: invalid syntax' >&2\nexit 1\n");
  chmodSync(failing, 0o755);
  assert.deepEqual(await probePython(failing), { kind: "failed", detail: "SyntaxError: invalid syntax" });
});

const realPython = which("python3");
test("probing a real python3 reports its version", { skip: realPython === undefined && "no python3 on PATH" }, async () => {
  const probe = await probePython(realPython as string);
  assert.equal(probe.kind, "ok");
  assert.ok(probe.kind === "ok" && probe.version[0] === 3);
});
