import { answers, extensions, recorded, reset, settings } from "./stubs";

import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { beforeEach, test } from "node:test";

import { CallSitesFeature, SHOW_CALL_SITES_COMMAND } from "../src/callSites";
import * as extension from "../src/extension";

function fakeContext() {
  return { subscriptions: [] as { dispose(): unknown }[] };
}

/** An executable named otp-thinking in a temp folder, so the PATH lookup finds it. */
function fakeServer(): string {
  const folder = mkdtempSync(path.join(tmpdir(), "otp-ext-"));
  const file = path.join(folder, "otp-thinking");
  writeFileSync(file, "#!/bin/sh\nexit 0\n");
  chmodSync(file, 0o755);
  return file;
}

async function activate() {
  const context = fakeContext();
  await extension.activate(context as never);
  return context;
}

beforeEach(async () => {
  await extension.deactivate();
  reset();
});

test("activation starts `<command> lsp` over stdio for Elixir documents", async () => {
  const server = fakeServer();
  settings.set("otpThinking.server.path", server);
  settings.set("otpThinking.server.args", ["--verbose"]);
  settings.set("otpThinking.rules", { OTP101: "error" });
  await activate();

  assert.equal(recorded.clients.length, 1);
  const client = recorded.clients[0];
  assert.equal(client.id, "otpThinking");
  assert.equal(client.started, 1);
  assert.deepEqual(client.serverOptions, {
    run: { command: server, args: ["lsp", "--verbose"], options: { cwd: "/projects/shop" } },
    debug: { command: server, args: ["lsp", "--verbose"], options: { cwd: "/projects/shop" } },
  });
  assert.deepEqual(client.clientOptions.documentSelector, [
    { scheme: "file", language: "elixir" },
    { scheme: "untitled", language: "elixir" },
  ]);
  assert.deepEqual(client.clientOptions.initializationOptions, { rules: { OTP101: "error" } });
  assert.deepEqual(recorded.errors, []);
});

test("a Python interpreter runs `python -m otp_thinking lsp`", async () => {
  const folder = mkdtempSync(path.join(tmpdir(), "otp-py-"));
  const python = path.join(folder, "python");
  writeFileSync(python, `#!/bin/sh\necho '{"version": [3, 12, 0], "package": true, "executable": "${python}"}'\n`);
  chmodSync(python, 0o755);
  settings.set("otpThinking.server.pythonPath", python);
  await activate();
  const options = recorded.clients[0].serverOptions as { run: { command: string; args: string[] } };
  assert.deepEqual([options.run.command, ...options.run.args], [python, "-m", "otp_thinking", "lsp"]);
});

test("a server that cannot be found gives one error with the fix, and Open Settings opens them", async () => {
  settings.set("otpThinking.server.path", "/nonexistent/otp-thinking");
  answers.errorChoice = "Open Settings";
  await activate();

  assert.equal(recorded.clients.length, 0);
  assert.equal(recorded.errors.length, 1);
  const [error] = recorded.errors;
  assert.match(error.message, /^otp-thinking: The otp-thinking server command "\/nonexistent\/otp-thinking" was not found\./);
  assert.match(error.message, /pipx install \./);
  assert.deepEqual(error.items, ["Open Settings", "Show Output"]);
  assert.deepEqual(recorded.executed, [{ command: "workbench.action.openSettings", args: ["otpThinking.server"] }]);
});

test("a wrong Python says which version it is", async () => {
  const folder = mkdtempSync(path.join(tmpdir(), "otp-py-"));
  const python = path.join(folder, "python3.8");
  writeFileSync(python, `#!/bin/sh\necho '{"version": [3, 8, 10], "package": true, "executable": "${python}"}'\n`);
  chmodSync(python, 0o755);
  settings.set("otpThinking.server.pythonPath", python);
  answers.errorChoice = "Show Output";
  await activate();
  assert.equal(recorded.clients.length, 0);
  assert.match(recorded.errors[0].message, /is Python 3\.8\.10; the otp-thinking server needs Python 3\.11 or newer/);
  assert.equal(recorded.outputShown, 1);
});

test("a server that fails during start is reported with where to look", async () => {
  settings.set("otpThinking.server.path", fakeServer());
  answers.clientStart = () => Promise.reject(new Error("Connection closed"));
  await activate();
  assert.equal(recorded.errors.length, 1);
  assert.match(recorded.errors[0].message, /did not start: Connection closed\./);
  assert.match(recorded.errors[0].message, /Restart server/);
});

test("Restart server stops the running client and starts a new one with the current settings", async () => {
  settings.set("otpThinking.server.path", fakeServer());
  await activate();
  const restart = recorded.commands.get("otpThinking.restartServer");
  assert.ok(restart, "restart command registered");
  settings.set("otpThinking.server.args", ["--again"]);
  await restart();

  assert.equal(recorded.clients.length, 2);
  assert.equal(recorded.clients[0].stopped, 1);
  assert.equal(recorded.clients[1].started, 1);
  const options = recorded.clients[1].serverOptions as { run: { args: string[] } };
  assert.deepEqual(options.run.args, ["lsp", "--again"]);
});

test("changing rule settings notifies the server; changing the server settings restarts it", async () => {
  settings.set("otpThinking.server.path", fakeServer());
  await activate();
  const [listener] = recorded.configurationListeners;
  settings.set("otpThinking.rules", { OTP004: "off" });
  await listener({ affectsConfiguration: (section) => section === "otpThinking" });
  assert.deepEqual(recorded.clients[0].notifications, [
    { method: "workspace/didChangeConfiguration", params: { settings: { otpThinking: { rules: { OTP004: "off" } } } } },
  ]);
  assert.equal(recorded.clients.length, 1);

  await listener({ affectsConfiguration: (section) => section.startsWith("otpThinking") });
  assert.equal(recorded.clients.length, 2);
  assert.equal(recorded.clients[0].stopped, 1);
});

test("workspace/configuration for otpThinking answers the rule configuration; other sections go to VS Code", async () => {
  settings.set("otpThinking.server.path", fakeServer());
  settings.set("otpThinking.names", { task_supervisor: "Shop.Tasks" });
  await activate();
  const middleware = recorded.clients[0].clientOptions.middleware.workspace;
  const asked: unknown[] = [];
  const answer = await middleware.configuration(
    { items: [{ section: "otpThinking", scopeUri: "file:///projects/shop/lib/a.ex" }, { section: "editor" }] },
    undefined,
    (params) => {
      asked.push(params);
      return [{ tabSize: 2 }];
    },
  );
  assert.deepEqual(answer, [{ names: { task_supervisor: "Shop.Tasks" } }, { tabSize: 2 }]);
  assert.deepEqual(asked, [{ items: [{ section: "editor" }] }]);
});

test("the Python extension's interpreter is read through its API", async () => {
  extensions.set("ms-python.python", {
    isActive: true,
    exports: { environments: { getActiveEnvironmentPath: () => ({ path: "/proj/.venv/bin/python" }) } },
  });
  assert.equal(await extension.activeInterpreter(), "/proj/.venv/bin/python");
  extensions.set("ms-python.python", {
    isActive: false,
    activate: async () => ({ settings: { getExecutionDetails: () => ({ execCommand: ["/usr/bin/python3.12"] }) } }),
  });
  assert.equal(await extension.activeInterpreter(), "/usr/bin/python3.12");
  extensions.clear();
  assert.equal(await extension.activeInterpreter(), undefined);
});

test("deactivate stops the client", async () => {
  settings.set("otpThinking.server.path", fakeServer());
  await activate();
  await extension.deactivate();
  assert.equal(recorded.clients[0].stopped, 1);
});

test("the client declares otp-thinking.showCallSites in experimental.commands, keeping other commands", async () => {
  settings.set("otpThinking.server.path", fakeServer());
  await activate();
  const [feature] = recorded.clients[0].features as CallSitesFeature[];
  assert.ok(feature instanceof CallSitesFeature, "registered before the client starts");
  const capabilities: { experimental?: unknown } = { experimental: { commands: { commands: ["other.command"] } } };
  feature.fillClientCapabilities(capabilities as never);
  assert.deepEqual(capabilities.experimental, { commands: { commands: ["other.command", SHOW_CALL_SITES_COMMAND] } });
  const empty: { experimental?: unknown } = {};
  feature.fillClientCapabilities(empty as never);
  assert.deepEqual(empty.experimental, { commands: { commands: [SHOW_CALL_SITES_COMMAND] } });
});

test("the call-site lens's command opens the peek-references view at the lens", async () => {
  settings.set("otpThinking.server.path", fakeServer());
  await activate();
  const show = recorded.commands.get(SHOW_CALL_SITES_COMMAND);
  assert.ok(show, "command registered");
  const site = (line: number) => ({
    uri: "file:///projects/shop/lib/shop/checkout.ex",
    range: { start: { line, character: 4 }, end: { line, character: 30 } },
  });
  await show("file:///projects/shop/lib/shop/inventory.ex", { line: 5, character: 2 }, [site(3), site(9)]);

  assert.equal(recorded.executed.length, 1);
  const { command, args } = recorded.executed[0];
  assert.equal(command, "editor.action.showReferences");
  const [uri, position, locations] = args as [
    { toString(): string },
    { line: number; character: number },
    { uri: { toString(): string }; range: { start: { line: number }; end: { character: number } } }[],
  ];
  assert.equal(uri.toString(), "file:///projects/shop/lib/shop/inventory.ex");
  assert.deepEqual({ line: position.line, character: position.character }, { line: 5, character: 2 });
  assert.deepEqual(
    locations.map((l) => [l.uri.toString(), l.range.start.line, l.range.end.character]),
    [
      ["file:///projects/shop/lib/shop/checkout.ex", 3, 30],
      ["file:///projects/shop/lib/shop/checkout.ex", 9, 30],
    ],
  );
});

test("the call-site command ignores arguments that are not a URI, a position and locations", async () => {
  settings.set("otpThinking.server.path", fakeServer());
  await activate();
  const show = recorded.commands.get(SHOW_CALL_SITES_COMMAND);
  assert.ok(show);
  await show();
  await show("file:///a.ex", { line: "x" }, []);
  await show("file:///a.ex", { line: 1, character: 0 }, "nope");
  assert.deepEqual(recorded.executed, []);
});
