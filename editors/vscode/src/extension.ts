/**
 * VS Code entry point: starts `otp-thinking lsp` over stdio for Elixir files, passes the rule
 * settings to it, shows the call-site lens's locations, restarts it on demand, and turns a
 * server that cannot start into one message with the fix.
 */

import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
} from "vscode-languageclient/node";

import { CallSitesFeature, SHOW_CALL_SITES_COMMAND, showCallSites } from "./callSites";
import { isProblem, type Launch, type Problem, probePython, resolveLaunch, which } from "./launch";
import { bundledWheel, provisionServer, runCommand } from "./provision";
import { readRuleConfiguration, readServerSettings, SECTION } from "./settings";

export const CLIENT_ID = "otpThinking";
export const CLIENT_NAME = "otp-thinking";
export const RESTART_COMMAND = "otpThinking.restartServer";
export const SHOW_OUTPUT_COMMAND = "otpThinking.showOutput";
const OPEN_SETTINGS = "Open Settings";
const SHOW_OUTPUT = "Show Output";

export const DOCUMENT_SELECTOR = [
  { scheme: "file", language: "elixir" },
  { scheme: "untitled", language: "elixir" },
];

let controller: ServerController | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel(CLIENT_NAME);
  controller = new ServerController(output, context.extensionPath, context.globalStorageUri?.fsPath);
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand(RESTART_COMMAND, () => controller?.restart()),
    vscode.commands.registerCommand(SHOW_OUTPUT_COMMAND, () => output.show(true)),
    vscode.commands.registerCommand(SHOW_CALL_SITES_COMMAND, showCallSites),
    vscode.workspace.onDidChangeConfiguration((event) => controller?.configurationChanged(event)),
    { dispose: () => void controller?.stop() },
  );
  await controller.start();
}

export async function deactivate(): Promise<void> {
  await controller?.stop();
  controller = undefined;
}

/** Owns the one LanguageClient; start, stop and restart are queued so they never overlap. */
export class ServerController {
  private client: LanguageClient | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly output: vscode.OutputChannel,
    private readonly extensionPath?: string,
    private readonly storagePath?: string,
  ) {}

  get running(): LanguageClient | undefined {
    return this.client;
  }

  start(): Promise<void> {
    return this.enqueue(() => this.doStart());
  }

  stop(): Promise<void> {
    return this.enqueue(() => this.doStop());
  }

  restart(): Promise<void> {
    return this.enqueue(async () => {
      this.output.appendLine("Restarting the otp-thinking server.");
      await this.doStop();
      await this.doStart();
    });
  }

  configurationChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
    if (event.affectsConfiguration(`${SECTION}.server`)) {
      return this.restart();
    }
    if (event.affectsConfiguration(SECTION) && this.client !== undefined) {
      const settings = { [SECTION]: readRuleConfiguration(vscode.workspace.getConfiguration(SECTION)) };
      return this.client.sendNotification(DidChangeConfigurationNotification.type, { settings });
    }
    return Promise.resolve();
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(step, step);
    return this.queue;
  }

  private async doStart(): Promise<void> {
    const configuration = vscode.workspace.getConfiguration(SECTION);
    const settings = readServerSettings(configuration);
    const launch = await resolveLaunch(settings, {
      which: (command) => which(command),
      probePython: (python) => probePython(python),
      activeInterpreter,
      bundled: this.bundled(settings.args),
    });
    if (isProblem(launch)) {
      await this.report(launch);
      return;
    }
    this.output.appendLine(`Starting ${launch.command} ${launch.args.join(" ")} (from ${launch.origin}).`);
    const client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions(launch), clientOptions(this.output));
    client.registerFeature(new CallSitesFeature());
    this.client = client;
    try {
      await client.start();
    } catch (error) {
      this.client = undefined;
      await this.report({
        message: `The otp-thinking server "${launch.command}" did not start: ${errorText(error)}.`,
        fix: `Check the "${CLIENT_NAME}" output for the server's own messages, then fix "otpThinking.server.path" / "otpThinking.server.pythonPath" and run "otp-thinking: Restart server".`,
      });
    }
  }

  /** Installing the server the .vsix carries (on first start, with a progress notification). */
  private bundled(args: string[]): (() => Promise<Launch | Problem>) | undefined {
    const wheel = this.extensionPath ? bundledWheel(this.extensionPath) : undefined;
    const storage = this.storagePath;
    if (wheel === undefined || storage === undefined) {
      return undefined;
    }
    return async () =>
      vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "otp-thinking" },
        (progress) =>
          provisionServer(wheel, storage, args, {
            which: (command) => which(command),
            probePython: (python) => probePython(python),
            run: (command, runArgs, timeoutMs) =>
              runCommand(command, runArgs, timeoutMs).then((result) => {
                this.output.appendLine(`$ ${command} ${runArgs.join(" ")}\n${result.output.trim()}`);
                return result;
              }),
            progress: (message) => {
              this.output.appendLine(`${message}.`);
              progress.report({ message: `${message}…` });
            },
          }),
      );
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client === undefined) {
      return;
    }
    try {
      await client.stop();
    } catch (error) {
      this.output.appendLine(`Stopping the server failed: ${errorText(error)}`);
    }
  }

  private async report(problem: Problem): Promise<void> {
    this.output.appendLine(`${problem.message} ${problem.fix}`);
    const choice = await vscode.window.showErrorMessage(
      `otp-thinking: ${problem.message} ${problem.fix}`,
      OPEN_SETTINGS,
      SHOW_OUTPUT,
    );
    if (choice === OPEN_SETTINGS) {
      await vscode.commands.executeCommand("workbench.action.openSettings", `${SECTION}.server`);
    } else if (choice === SHOW_OUTPUT) {
      this.output.show(true);
    }
  }
}

export function serverOptions(launch: Launch): ServerOptions {
  const folder = vscode.workspace.workspaceFolders?.[0];
  const executable = {
    command: launch.command,
    args: launch.args,
    options: folder?.uri.scheme === "file" ? { cwd: folder.uri.fsPath } : {},
  };
  return { run: executable, debug: executable };
}

export function clientOptions(output: vscode.OutputChannel): LanguageClientOptions {
  return {
    documentSelector: DOCUMENT_SELECTOR,
    outputChannel: output,
    initializationOptions: readRuleConfiguration(vscode.workspace.getConfiguration(SECTION)),
    middleware: {
      workspace: {
        configuration: (params, token, next) => answerConfiguration(params.items, (items) => next({ items }, token)),
      },
    },
  };
}

type Item = { section?: string; scopeUri?: string };

/**
 * `workspace/configuration` for our section gets exactly what `initializationOptions` carried;
 * any other section is left to the default handler.
 */
export async function answerConfiguration(
  items: Item[],
  fallback: (items: Item[]) => unknown,
): Promise<unknown[]> {
  return Promise.all(
    items.map(async (item) => {
      if (item.section === SECTION) {
        const scope = item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined;
        return readRuleConfiguration(vscode.workspace.getConfiguration(SECTION, scope));
      }
      const answer = await fallback([item]);
      return Array.isArray(answer) ? answer[0] : null;
    }),
  );
}

/** The interpreter chosen in the Python extension, if it is installed and says so. */
export async function activeInterpreter(): Promise<string | undefined> {
  const extension = vscode.extensions.getExtension("ms-python.python");
  if (extension === undefined) {
    return undefined;
  }
  try {
    const api = (extension.isActive ? extension.exports : await extension.activate()) as PythonApi | undefined;
    const resource = vscode.workspace.workspaceFolders?.[0]?.uri;
    const environment = api?.environments?.getActiveEnvironmentPath?.(resource);
    if (environment?.path) {
      return environment.path;
    }
    const details = api?.settings?.getExecutionDetails?.(resource);
    return details?.execCommand?.[0];
  } catch {
    return undefined;
  }
}

interface PythonApi {
  environments?: { getActiveEnvironmentPath?(resource?: vscode.Uri): { path?: string } | undefined };
  settings?: { getExecutionDetails?(resource?: vscode.Uri): { execCommand?: string[] } | undefined };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
