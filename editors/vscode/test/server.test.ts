/**
 * The extension's launch and settings code against the real otp-thinking server: the command
 * resolveLaunch picks is spawned, speaks LSP over stdio, takes the rule settings as
 * initializationOptions, and asks `workspace/configuration`, answered by the extension's own
 * middleware. Needs a Python with the otp-thinking package: $OTP_THINKING_PYTHON, else python3
 * on PATH; skipped with the reason otherwise.
 */
import { settings } from "./stubs";

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import * as rpc from "vscode-jsonrpc/node";
import type { ClientCapabilities } from "vscode-languageclient/node";

import { CallSitesFeature, SHOW_CALL_SITES_COMMAND } from "../src/callSites";

import { answerConfiguration } from "../src/extension";
import { isProblem, probePython, resolveLaunch, which } from "../src/launch";
import { readRuleConfiguration, readServerSettings, SECTION } from "../src/settings";

const python = process.env.OTP_THINKING_PYTHON || which("python3") || "";

async function skipReason(): Promise<string | false> {
  if (python === "") {
    return "no python3 on PATH and OTP_THINKING_PYTHON unset";
  }
  const probe = await probePython(python);
  if (probe.kind !== "ok" || !probe.hasPackage) {
    return `${python} has no otp_thinking package (set OTP_THINKING_PYTHON to a Python that has it)`;
  }
  return false;
}

const TEXT = [
  "defmodule Shop.Lookup do",
  "  use GenServer",
  "  def handle_call({:lookup, sku}, _from, state) do",
  '    _ = "façade ☕ 𝄞"; task = Task.async(fn -> sku end)',
  "    {:reply, :ok, state}",
  "  end",
  "end",
  "",
].join("\n");

type Diagnostic = { code?: string; severity?: number; range: { start: { character: number } } };

type Lens = { command?: { command: string; title: string; arguments?: unknown[] } };

type Section = { get<T>(key: string): T | undefined };

/** The server the extension's settings resolve to, spawned and connected over stdio; the
 * extension's middleware answers `workspace/configuration`. */
async function startServer(section: Section) {
  const launch = await resolveLaunch(readServerSettings(section), { which, probePython });
  assert.ok(!isProblem(launch), JSON.stringify(launch));
  const child = spawn(launch.command, launch.args, { stdio: ["pipe", "pipe", "pipe"] });
  const output = { text: "" };
  child.stderr.on("data", (chunk) => (output.text += chunk));
  const connection = rpc.createMessageConnection(
    new rpc.StreamMessageReader(child.stdout),
    new rpc.StreamMessageWriter(child.stdin),
  );
  const published: Diagnostic[][] = [];
  const listeners: (() => void)[] = [];
  connection.onNotification("textDocument/publishDiagnostics", (params: { diagnostics: Diagnostic[] }) => {
    published.push(params.diagnostics);
    listeners.forEach((listener) => listener());
  });
  const asked: unknown[] = [];
  connection.onRequest("workspace/configuration", (params: { items: { section?: string }[] }) => {
    asked.push(params);
    return answerConfiguration(params.items, () => [null]);
  });
  connection.onNotification("window/showMessage", (params: { message: string }) => {
    output.text += `showMessage: ${params.message}\n`;
  });
  connection.listen();
  const onPublished = (listener: () => void) => listeners.push(listener);
  return { child, connection, published, asked, output, onPublished };
}

test("the real server starts from the resolved launch and follows the extension's settings", async (t) => {
  const reason = await skipReason();
  if (reason) {
    t.skip(reason);
    return;
  }
  settings.clear();
  settings.set("otpThinking.server.pythonPath", python);
  settings.set("otpThinking.rules", { OTP101: "error" });
  const section = { get: <T>(key: string) => settings.get(`${SECTION}.${key}`) as T | undefined };

  const { child, connection, published, asked, output, onPublished } = await startServer(section);
  let notify: () => void = () => undefined;
  onPublished(() => notify());
  const stderr = () => output.text;

  /** The first published diagnostics (from now on, or already seen) that satisfy `wanted`. */
  async function diagnosticsWhere(what: string, wanted: (d: Diagnostic[]) => boolean): Promise<Diagnostic[]> {
    let found: Diagnostic[] | undefined;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no diagnostics with ${what} in 20 s; server said:\n${stderr()}`)), 20000);
      notify = () => {
        found = published.find(wanted);
        if (found !== undefined) {
          clearTimeout(timer);
          resolve();
        }
      };
      notify();
    });
    return found as Diagnostic[];
  }

  try {
    const folder = pathToFileURL(process.cwd()).href;
    const result = (await connection.sendRequest("initialize", {
      processId: process.pid,
      rootUri: folder,
      capabilities: { workspace: { configuration: true }, textDocument: { publishDiagnostics: {} } },
      initializationOptions: readRuleConfiguration(section),
    })) as { serverInfo?: { name: string } };
    assert.equal(result.serverInfo?.name, "otp-thinking");
    await connection.sendNotification("initialized", {});
    const uri = pathToFileURL(`${process.cwd()}/lib/shop/lookup.ex`).href;
    await connection.sendNotification("textDocument/didOpen", {
      textDocument: { uri, languageId: "elixir", version: 1, text: TEXT },
    });
    const diagnostics = await diagnosticsWhere("OTP101", (d) => d.length > 0);
    assert.equal(diagnostics.length, 1);
    assert.equal(diagnostics[0].code, "OTP101");
    assert.equal(diagnostics[0].severity, 1, "OTP101 raised to an error by the settings");
    // UTF-16, as VS Code counts: the prefix has a surrogate pair.
    const line = TEXT.split("\n")[3];
    assert.equal(diagnostics[0].range.start.character, line.indexOf("Task.async"));

    // A settings change: the extension notifies, the server asks workspace/configuration and
    // the extension's middleware answers with the new rule settings.
    settings.set("otpThinking.rules", { OTP101: "hint" });
    published.length = 0;
    await connection.sendNotification("workspace/didChangeConfiguration", {
      settings: { [SECTION]: readRuleConfiguration(section) },
    });
    // OTP101 lowered to a hint: only the workspace/configuration answer says so.
    const changed = await diagnosticsWhere("OTP101 as a hint", (d) => d.length === 1 && d[0].severity === 4);
    assert.equal(changed[0].code, "OTP101");
    assert.ok(asked.length >= 1, "the server asked workspace/configuration");
    assert.deepEqual(asked[asked.length - 1], { items: [{ section: SECTION }] });
    assert.ok(!stderr().includes("showMessage"), stderr());

    await connection.sendRequest("shutdown");
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    await connection.sendNotification("exit");
    assert.equal(await exited, 0);
  } finally {
    connection.dispose();
    child.kill();
    settings.clear();
  }
});

test("with the extension's capabilities, the call-site lens runs otp-thinking.showCallSites", async (t) => {
  const reason = await skipReason();
  if (reason) {
    t.skip(reason);
    return;
  }
  const project = mkdtempSync(path.join(tmpdir(), "otp-lens-"));
  cpSync(path.resolve(__dirname, "..", "..", "..", "..", "examples"), project, { recursive: true });
  const section = { get: <T>(key: string) => (key === "server.pythonPath" ? python : undefined) as T | undefined };
  const { child, connection, output } = await startServer(section);
  const capabilities: ClientCapabilities = { workspace: { configuration: true }, textDocument: { codeLens: {} } };
  new CallSitesFeature().fillClientCapabilities(capabilities);
  try {
    await connection.sendRequest("initialize", {
      processId: process.pid,
      rootUri: pathToFileURL(project).href,
      capabilities,
    });
    await connection.sendNotification("initialized", {});
    const file = path.join(project, "lib", "storefront", "inventory.ex");
    const uri = pathToFileURL(file).href;
    await connection.sendNotification("textDocument/didOpen", {
      textDocument: { uri, languageId: "elixir", version: 1, text: readFileSync(file, "utf8") },
    });
    // The lens counts call sites once the background index of the project is complete.
    let lenses: Lens[] = [];
    for (let tries = 0; tries < 200 && lenses.length === 0; tries += 1) {
      lenses = (await connection.sendRequest("textDocument/codeLens", { textDocument: { uri } })) as Lens[];
      if (lenses.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    assert.equal(lenses.length, 1, `no call-site lens in 20 s; server said:\n${output.text}`);
    const command = lenses[0].command;
    assert.equal(command?.command, SHOW_CALL_SITES_COMMAND);
    assert.equal(command?.title, "4 call sites from 3 modules"); // Checkout calls it twice
    const [lensUri, position, locations] = command?.arguments ?? [];
    assert.equal(lensUri, uri);
    assert.deepEqual(position, { line: 5, character: 2 });
    assert.equal((locations as unknown[]).length, 4);
    await connection.sendRequest("shutdown");
    await connection.sendNotification("exit");
  } finally {
    connection.dispose();
    child.kill();
    rmSync(project, { recursive: true, force: true });
  }
});
