/**
 * Stand-ins for the `vscode` module and `vscode-languageclient/node`, installed into node's module
 * loader before the extension is imported: VS Code itself cannot be downloaded here, and these
 * tests check what the extension asks of the editor, not the editor.
 */

import Module = require("node:module");

export interface Recorded {
  errors: { message: string; items: string[] }[];
  executed: { command: string; args: unknown[] }[];
  commands: Map<string, (...args: unknown[]) => unknown>;
  configurationListeners: ((event: { affectsConfiguration(section: string): boolean }) => unknown)[];
  output: string[];
  outputShown: number;
  clients: FakeClient[];
  progress: string[];
}

export const recorded: Recorded = {
  errors: [],
  executed: [],
  commands: new Map(),
  configurationListeners: [],
  output: [],
  outputShown: 0,
  clients: [],
  progress: [],
};

/** Settings as flat keys, e.g. `otpThinking.server.path`. */
export const settings = new Map<string, unknown>();
/** What the next error notification's button answer is. */
export const answers: { errorChoice: string | undefined; clientStart: () => Promise<void> } = {
  errorChoice: undefined,
  clientStart: () => Promise.resolve(),
};
export const extensions = new Map<string, unknown>();

export function reset(): void {
  recorded.errors.length = 0;
  recorded.executed.length = 0;
  recorded.commands.clear();
  recorded.configurationListeners.length = 0;
  recorded.output.length = 0;
  recorded.outputShown = 0;
  recorded.clients.length = 0;
  recorded.progress.length = 0;
  settings.clear();
  extensions.clear();
  answers.errorChoice = undefined;
  answers.clientStart = () => Promise.resolve();
}

export class FakeClient {
  started = 0;
  stopped = 0;
  notifications: { method: string; params: unknown }[] = [];
  features: unknown[] = [];
  constructor(
    readonly id: string,
    readonly name: string,
    readonly serverOptions: unknown,
    readonly clientOptions: {
      documentSelector: unknown;
      initializationOptions: unknown;
      middleware: {
        workspace: {
          configuration(params: unknown, token: unknown, next: (params: unknown) => unknown): unknown;
        };
      };
    },
  ) {
    recorded.clients.push(this);
  }
  registerFeature(feature: unknown): void {
    this.features.push(feature);
  }
  async start(): Promise<void> {
    this.started += 1;
    await answers.clientStart();
  }
  async stop(): Promise<void> {
    this.stopped += 1;
  }
  async sendNotification(type: { method: string }, params: unknown): Promise<void> {
    this.notifications.push({ method: type.method, params });
  }
}

function configuration(section: string | undefined) {
  const prefix = section ? `${section}.` : "";
  return {
    get<T>(key: string, fallback?: T): T | undefined {
      const full = prefix + key;
      return settings.has(full) ? (settings.get(full) as T) : fallback;
    },
    has(key: string): boolean {
      return settings.has(prefix + key);
    },
  };
}

class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

class Range {
  constructor(
    readonly start: Position,
    readonly end: Position,
  ) {}
}

class Location {
  constructor(
    readonly uri: unknown,
    readonly range: Range,
  ) {}
}

const vscodeStub = {
  ProgressLocation: { Notification: 15 },
  Position,
  Range,
  Location,
  Uri: {
    parse: (value: string) => ({ scheme: value.split(":")[0], toString: () => value }),
  },
  window: {
    createOutputChannel: (_name: string) => ({
      appendLine: (line: string) => recorded.output.push(line),
      show: () => {
        recorded.outputShown += 1;
      },
      dispose: () => undefined,
    }),
    withProgress: async <T>(
      options: { title: string },
      task: (progress: { report(value: { message?: string }): void }) => Promise<T>,
    ): Promise<T> => {
      recorded.progress.push(`title: ${options.title}`);
      return task({ report: (value) => recorded.progress.push(value.message ?? "") });
    },
    showErrorMessage: async (message: string, ...items: string[]) => {
      recorded.errors.push({ message, items });
      return answers.errorChoice;
    },
  },
  commands: {
    registerCommand: (command: string, callback: (...args: unknown[]) => unknown) => {
      recorded.commands.set(command, callback);
      return { dispose: () => recorded.commands.delete(command) };
    },
    executeCommand: async (command: string, ...args: unknown[]) => {
      recorded.executed.push({ command, args });
    },
  },
  workspace: {
    workspaceFolders: [{ uri: { scheme: "file", fsPath: "/projects/shop" } }],
    getConfiguration: (section?: string) => configuration(section),
    onDidChangeConfiguration: (listener: Recorded["configurationListeners"][number]) => {
      recorded.configurationListeners.push(listener);
      return { dispose: () => undefined };
    },
  },
  extensions: {
    getExtension: (id: string) => extensions.get(id),
  },
};

const languageClientStub = {
  LanguageClient: FakeClient,
  DidChangeConfigurationNotification: { type: { method: "workspace/didChangeConfiguration" } },
};

const stubs: Record<string, unknown> = {
  vscode: vscodeStub,
  "vscode-languageclient/node": languageClientStub,
};

type Loader = (request: string, parent: unknown, isMain: boolean) => unknown;
const moduleWithLoad = Module as unknown as { _load: Loader };
const originalLoad = moduleWithLoad._load;
moduleWithLoad._load = function (request: string, parent: unknown, isMain: boolean) {
  return request in stubs ? stubs[request] : originalLoad.call(this, request, parent, isMain);
};
