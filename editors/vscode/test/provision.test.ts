/**
 * The server the .vsix carries, as a new user meets it: a fresh HOME, no otp-thinking anywhere,
 * only a Python 3.11+ on PATH. The wheel (`server/*.whl`, built by ci.sh before the tests) is
 * installed into the extension's own virtualenv and the server it starts works; with no Python on
 * PATH the user gets one clear message. The real install needs the wheel and a Python 3.11+
 * ($OTP_THINKING_PYTHON, else python3): skipped with the reason otherwise.
 */
import { answers, recorded, reset, settings } from "./stubs";

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { beforeEach, test } from "node:test";

import * as extension from "../src/extension";
import { isProblem, isSupported, type PythonProbe, probePython, which } from "../src/launch";
import { bundledWheel, findPython, type ProvisionDeps, provisionServer, runCommand } from "../src/provision";

const EXTENSION_ROOT = path.resolve(__dirname, "..", "..");
const WHEEL = bundledWheel(EXTENSION_ROOT);
const PYTHON = process.env.OTP_THINKING_PYTHON || which("python3") || "";

/** Real lookups and runs, in an environment with only ``env``'s HOME and PATH. */
function realDeps(env: NodeJS.ProcessEnv, steps: string[] = []): ProvisionDeps {
  return {
    which: (command) => which(command, env),
    probePython: (python) => probePython(python),
    run: (command, args, timeoutMs) => runCommand(command, args, timeoutMs, env),
    progress: (message) => steps.push(message),
  };
}

/** A folder for PATH holding only `python3`, a wrapper around ``python``. */
function pathWithOnlyPython(python: string): string {
  const bin = mkdtempSync(path.join(tmpdir(), "otp-bin-"));
  const wrapper = path.join(bin, "python3");
  writeFileSync(wrapper, `#!/bin/sh\nexec "${python}" "$@"\n`);
  chmodSync(wrapper, 0o755);
  return bin;
}

async function installSkipReason(): Promise<string | false> {
  if (WHEEL === undefined) {
    return "no server/otp_thinking-*.whl (ci.sh builds it before the tests)";
  }
  if (PYTHON === "") {
    return "no python3 on PATH and OTP_THINKING_PYTHON unset";
  }
  const probe = await probePython(PYTHON);
  if (probe.kind !== "ok" || !isSupported(probe.version)) {
    return `${PYTHON} is not a Python 3.11+`;
  }
  return false;
}

beforeEach(async () => {
  await extension.deactivate();
  reset();
});

test("the bundled wheel installs into the extension's own virtualenv and its server works", async (t) => {
  const reason = await installSkipReason();
  if (reason) {
    t.skip(reason);
    return;
  }
  const home = mkdtempSync(path.join(tmpdir(), "otp-home-"));
  const env = { HOME: home, PATH: pathWithOnlyPython(PYTHON) };
  const storage = path.join(home, ".vscode", "globalStorage", "otp-thinking.otp-thinking");
  const steps: string[] = [];
  const launch = await provisionServer(WHEEL as string, storage, ["--verbose"], realDeps(env, steps));
  assert.ok(!isProblem(launch), JSON.stringify(launch));
  assert.equal(launch.command, path.join(storage, "server-venv", "bin", "python"));
  assert.deepEqual(launch.args, ["-m", "otp_thinking", "lsp", "--verbose"]);
  assert.equal(steps.length, 2, steps.join("; "));

  // The server installed there checks Elixir code.
  const project = mkdtempSync(path.join(tmpdir(), "otp-shop-"));
  mkdirSync(path.join(project, "lib"));
  writeFileSync(
    path.join(project, "lib", "presence.ex"),
    "defmodule Shop.Presence do\n  def join(pid), do: :pg2.join(:shoppers, pid)\nend\n",
  );
  const checked = spawnSync(launch.command, ["-m", "otp_thinking", "check", "lib"], { cwd: project, env, encoding: "utf8" });
  assert.equal(checked.status, 1, checked.stderr);
  assert.match(checked.stdout, /lib\/presence\.ex:2:\d+: error: OTP301/);

  // The second start finds it installed: no step, no Python needed.
  const again = await provisionServer(WHEEL as string, storage, [], { ...realDeps({ HOME: home, PATH: "" }), progress: () => assert.fail("reinstalled") });
  assert.ok(!isProblem(again) && again.command === launch.command);
});

test("with no Python 3.11+ on PATH the user is told what to install", async () => {
  const nothing = await findPython(realDeps({ HOME: tmpdir(), PATH: "" }));
  assert.ok(typeof nothing !== "string");
  assert.match(nothing.message, /needs Python 3\.11 or newer, and none was found on PATH/);
  assert.match(nothing.fix, /python3-venv/);

  const old: PythonProbe = { kind: "ok", version: [3, 9, 2], hasPackage: false, executable: "/usr/bin/python3" };
  const tooOld = await findPython({
    which: (command) => (command === "python3" ? "/usr/bin/python3" : undefined),
    probePython: async () => old,
    run: async () => ({ ok: true, output: "" }),
    progress: () => undefined,
  });
  assert.ok(typeof tooOld !== "string");
  assert.match(tooOld.message, /\/usr\/bin\/python3 is 3\.9\.2/);
});

test("a venv that cannot be made (Debian without python3-venv) says what to install", async () => {
  const storage = mkdtempSync(path.join(tmpdir(), "otp-storage-"));
  const problem = await provisionServer("/ext/server/otp_thinking-0.1.0-py3-none-any.whl", storage, [], {
    which: (command) => (command === "python3" ? "/usr/bin/python3" : undefined),
    probePython: async () => ({ kind: "ok", version: [3, 11, 2], hasPackage: false, executable: "/usr/bin/python3" }),
    run: async () => ({ ok: false, output: "The virtual environment was not created successfully because ensurepip is not available." }),
    progress: () => undefined,
  });
  assert.ok(isProblem(problem));
  assert.match(problem.message, /ensurepip is not available/);
  assert.match(problem.fix, /sudo apt-get install python3-venv/);
});

test("the extension installs its own server with progress when none is on PATH", async () => {
  const extensionPath = mkdtempSync(path.join(tmpdir(), "otp-ext-"));
  mkdirSync(path.join(extensionPath, "server"));
  writeFileSync(path.join(extensionPath, "server", "otp_thinking-0.1.0-py3-none-any.whl"), "");
  const saved = process.env.PATH;
  process.env.PATH = ""; // nothing on PATH: no otp-thinking, no Python
  try {
    answers.errorChoice = undefined;
    settings.clear();
    const context = { subscriptions: [], extensionPath, globalStorageUri: { fsPath: path.join(extensionPath, "storage") } };
    await extension.activate(context as never);
  } finally {
    process.env.PATH = saved;
  }
  assert.equal(recorded.clients.length, 0);
  assert.deepEqual(recorded.progress, ["title: otp-thinking"]);
  assert.equal(recorded.errors.length, 1);
  assert.match(recorded.errors[0].message, /needs Python 3\.11 or newer, and none was found on PATH/);
  assert.ok(!existsSync(path.join(extensionPath, "storage", "server-venv")));
});
