/**
 * Deciding how to start the server, and checking beforehand that it can start, so a missing
 * command, a wrong Python or a missing package becomes one message that says how to fix it
 * instead of a stack of connection errors. No `vscode` import: tested under plain node.
 */

import { execFile } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import * as path from "node:path";

import { DEFAULT_COMMAND, type ServerSettings } from "./settings";

export const MIN_PYTHON: readonly [number, number] = [3, 11];
export const INSTALL_HINT = '"pipx install ." in a clone of otp-thinking';

export interface Launch {
  command: string;
  args: string[];
  /** How the command was chosen, for the output channel. */
  origin: string;
}

export interface Problem {
  /** One sentence: what is wrong. */
  message: string;
  /** What to do about it. */
  fix: string;
}

export type PythonProbe =
  | { kind: "ok"; version: number[]; hasPackage: boolean; executable: string }
  | { kind: "not-found" }
  | { kind: "failed"; detail: string };

export interface LaunchDeps {
  /** The absolute path of an executable found on PATH (or at that path), if any. */
  which(command: string): string | undefined;
  probePython(python: string): Promise<PythonProbe>;
  /** The interpreter selected in the Python extension, when it is installed. */
  activeInterpreter?(): Promise<string | undefined>;
  /** The server the extension carries, installed in its own virtualenv on first use. */
  bundled?(): Promise<Launch | Problem>;
}

/** Pick the command that starts the server, or say why none can. */
export async function resolveLaunch(
  settings: ServerSettings,
  deps: LaunchDeps,
): Promise<Launch | Problem> {
  if (settings.pythonPath !== "") {
    return launchWithPython(settings.pythonPath, settings.args, deps, "otpThinking.server.pythonPath");
  }
  const found = deps.which(settings.command);
  if (found !== undefined) {
    return { command: found, args: ["lsp", ...settings.args], origin: "otpThinking.server.path" };
  }
  if (settings.command === DEFAULT_COMMAND && deps.activeInterpreter !== undefined) {
    const interpreter = await deps.activeInterpreter();
    if (interpreter !== undefined && interpreter !== "") {
      const probe = await deps.probePython(interpreter);
      if (probe.kind === "ok" && probe.hasPackage && isSupported(probe.version)) {
        return pythonLaunch(interpreter, settings.args, "the Python extension's interpreter");
      }
    }
  }
  if (settings.command === DEFAULT_COMMAND && deps.bundled !== undefined) {
    return deps.bundled();
  }
  const where = settings.command === DEFAULT_COMMAND ? "on PATH" : "";
  return {
    message: `The otp-thinking server command "${settings.command}" was not found${where ? " " + where : ""}.`,
    fix:
      `Install it with ${INSTALL_HINT} (or "pip install ." there, inside a Python ${MIN_PYTHON.join(".")}+ virtualenv), ` +
      `set "otpThinking.server.path" to the full path of the otp-thinking executable, ` +
      `or set "otpThinking.server.pythonPath" to a Python ${MIN_PYTHON.join(".")}+ that has the otp-thinking package.`,
  };
}

async function launchWithPython(
  python: string,
  args: string[],
  deps: LaunchDeps,
  origin: string,
): Promise<Launch | Problem> {
  const probe = await deps.probePython(python);
  if (probe.kind === "not-found") {
    return {
      message: `The Python interpreter "${python}" (otpThinking.server.pythonPath) was not found.`,
      fix: `Set "otpThinking.server.pythonPath" to an existing Python ${MIN_PYTHON.join(".")}+ interpreter, e.g. your project's .venv/bin/python, or clear it to use the otp-thinking command.`,
    };
  }
  if (probe.kind === "failed") {
    return {
      message: `The Python interpreter "${python}" could not be run: ${probe.detail}`,
      fix: `Set "otpThinking.server.pythonPath" to a working Python ${MIN_PYTHON.join(".")}+ interpreter.`,
    };
  }
  if (!isSupported(probe.version)) {
    return {
      message: `"${python}" is Python ${probe.version.join(".")}; the otp-thinking server needs Python ${MIN_PYTHON.join(".")} or newer.`,
      fix: `Set "otpThinking.server.pythonPath" to a Python ${MIN_PYTHON.join(".")}+ interpreter that has otp-thinking installed.`,
    };
  }
  if (!probe.hasPackage) {
    return {
      message: `The otp-thinking package is not installed in "${python}".`,
      fix: `Run "${python} -m pip install ." in a clone of otp-thinking, or set "otpThinking.server.pythonPath" to the Python where it is installed.`,
    };
  }
  return pythonLaunch(python, args, origin);
}

function pythonLaunch(python: string, args: string[], origin: string): Launch {
  return { command: python, args: ["-m", "otp_thinking", "lsp", ...args], origin };
}

export function isSupported(version: number[]): boolean {
  const [major = 0, minor = 0] = version;
  return major > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor >= MIN_PYTHON[1]);
}

export function isProblem(value: Launch | Problem): value is Problem {
  return "fix" in value;
}

/** Find an executable the way a shell would: a path as given, a bare name on PATH (with PATHEXT on Windows). */
export function which(
  command: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  const extensions =
    platform === "win32" ? ["", ...(env.PATHEXT ?? ".EXE;.CMD;.BAT;.COM").split(";")] : [""];
  const candidates = (base: string) => extensions.map((extension) => base + extension);
  if (command.includes("/") || (platform === "win32" && command.includes("\\"))) {
    return candidates(path.resolve(command)).find(isExecutableFile);
  }
  const folders = (env.PATH ?? env.Path ?? "").split(platform === "win32" ? ";" : path.delimiter);
  for (const folder of folders) {
    if (folder === "") {
      continue;
    }
    const found = candidates(path.join(folder, command)).find(isExecutableFile);
    if (found !== undefined) {
      return found;
    }
  }
  return undefined;
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) {
      return false;
    }
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const PROBE_SCRIPT = [
  "import importlib.util, json, sys",
  "print(json.dumps({'version': list(sys.version_info[:3]), 'executable': sys.executable,",
  "  'package': importlib.util.find_spec('otp_thinking') is not None}))",
].join("\n");

/** Ask an interpreter for its version and whether it can import otp_thinking. */
export function probePython(python: string, timeoutMs = 15000): Promise<PythonProbe> {
  return new Promise((resolve) => {
    execFile(python, ["-c", PROBE_SCRIPT], { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error !== null && (error as NodeJS.ErrnoException).code === "ENOENT") {
        resolve({ kind: "not-found" });
        return;
      }
      if (error !== null && (error as NodeJS.ErrnoException).code === "EACCES") {
        resolve({ kind: "failed", detail: "permission denied (not an executable)" });
        return;
      }
      const parsed = parseProbe(stdout);
      if (parsed !== undefined) {
        resolve(parsed);
        return;
      }
      const firstLine = (stderr || stdout || String(error ?? "no output")).trim().split(/\r?\n/).pop();
      resolve({ kind: "failed", detail: firstLine ?? "no output" });
    });
  });
}

export function parseProbe(stdout: string): PythonProbe | undefined {
  try {
    const data = JSON.parse(stdout.trim()) as { version?: unknown; package?: unknown; executable?: unknown };
    if (!Array.isArray(data.version) || !data.version.every((part) => typeof part === "number")) {
      return undefined;
    }
    return {
      kind: "ok",
      version: data.version as number[],
      hasPackage: data.package === true,
      executable: typeof data.executable === "string" ? data.executable : "",
    };
  } catch {
    return undefined;
  }
}
