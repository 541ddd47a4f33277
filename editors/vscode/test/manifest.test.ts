import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

const root = path.resolve(__dirname, "..", "..");
const manifest = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));

test("the extension declares the elixir language for .ex and .exs without a grammar of its own", () => {
  const [language] = manifest.contributes.languages;
  assert.equal(language.id, "elixir");
  assert.deepEqual(language.extensions, [".ex", ".exs"]);
  assert.equal(manifest.contributes.grammars, undefined, "highlighting is left to Elixir extensions");
  assert.ok(manifest.activationEvents.includes("onLanguage:elixir"));
});

test("every setting the code reads is declared, with trace.server under the client id", () => {
  const properties = Object.keys(manifest.contributes.configuration.properties).sort();
  assert.deepEqual(properties, [
    "otpThinking.names",
    "otpThinking.paths.exclude",
    "otpThinking.paths.test",
    "otpThinking.rules",
    "otpThinking.server.args",
    "otpThinking.server.path",
    "otpThinking.server.pythonPath",
    "otpThinking.trace.server",
    "otpThinking.workspaceDiagnostics",
  ]);
  assert.equal(manifest.contributes.configuration.properties["otpThinking.server.path"].default, "otp-thinking");
});

test("the restart command is contributed and the entry point is the compiled extension", () => {
  const commands = manifest.contributes.commands.map((command: { command: string }) => command.command);
  assert.ok(commands.includes("otpThinking.restartServer"));
  assert.equal(manifest.main, "./out/src/extension.js");
  assert.deepEqual(Object.keys(manifest.dependencies), ["vscode-languageclient"], "no bundled Python, only the LSP client");
});
