import assert from "node:assert/strict";
import { test } from "node:test";

import { readRuleConfiguration, readServerSettings } from "../src/settings";

function source(values: Record<string, unknown>) {
  return { get: <T>(key: string) => values[key] as T | undefined };
}

test("server settings default to otp-thinking on PATH with no extra args", () => {
  assert.deepEqual(readServerSettings(source({})), { command: "otp-thinking", pythonPath: "", args: [] });
  assert.deepEqual(readServerSettings(source({ "server.path": "  " })).command, "otp-thinking");
});

test("server settings keep the command, the interpreter and string args only", () => {
  const settings = readServerSettings(
    source({ "server.path": "/opt/bin/otp-thinking", "server.pythonPath": " /venv/bin/python ", "server.args": ["--tcp", 3, "x"] }),
  );
  assert.deepEqual(settings, { command: "/opt/bin/otp-thinking", pythonPath: "/venv/bin/python", args: ["--tcp", "x"] });
});

test("rule configuration is empty when nothing is set, so .otp-thinking.toml applies", () => {
  assert.deepEqual(readRuleConfiguration(source({ rules: {}, names: {}, "paths.exclude": null })), {});
});

test("rule configuration carries only the keys the server reads", () => {
  const configuration = readRuleConfiguration(
    source({
      rules: { OTP101: "error", "dets-size-limit": "off", bogus: 3 },
      "paths.exclude": ["deps/**"],
      "paths.test": null,
      names: { task_supervisor: " Shop.TaskSupervisor ", registry: "", other: "X" },
      "server.path": "ignored",
    }),
  );
  assert.deepEqual(configuration, {
    rules: { OTP101: "error", "dets-size-limit": "off" },
    paths: { exclude: ["deps/**"] },
    names: { task_supervisor: "Shop.TaskSupervisor" },
  });
});

test("workspaceDiagnostics is sent whenever it is a boolean, so turning it off reaches the server", () => {
  assert.deepEqual(readRuleConfiguration(source({ workspaceDiagnostics: true })), { workspaceDiagnostics: true });
  assert.deepEqual(readRuleConfiguration(source({ workspaceDiagnostics: false })), { workspaceDiagnostics: false });
  assert.deepEqual(readRuleConfiguration(source({ workspaceDiagnostics: "yes" })), {});
});
