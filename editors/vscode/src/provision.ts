/**
 * The server the .vsix carries: a wheel of otp-thinking under `server/`, installed on first start
 * into a virtualenv of the extension's own (in its global storage), from a Python 3.11+ found on
 * PATH. Nothing for the user to install but Python. No `vscode` import: tested under plain node.
 */

import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";

import { isSupported, type Launch, MIN_PYTHON, type Problem, type PythonProbe } from "./launch";

/** Tried in this order on PATH: the newest first, then whatever `python3` and `python` are. */
export const PYTHON_CANDIDATES = ["python3.14", "python3.13", "python3.12", "python3.11", "python3", "python"];
const MARKER = "otp-thinking-wheel.txt";
const INSTALL_TIMEOUT_MS = 10 * 60 * 1000;

export interface RunResult {
  ok: boolean;
  output: string;
}

export interface ProvisionDeps {
  which(command: string): string | undefined;
  probePython(python: string): Promise<PythonProbe>;
  run(command: string, args: string[], timeoutMs: number): Promise<RunResult>;
  /** Progress for the user: one short sentence a step. */
  progress(message: string): void;
  platform?: NodeJS.Platform;
}

/** The wheel shipped in the extension's `server/` folder, if the build put one there. */
export function bundledWheel(extensionPath: string): string | undefined {
  const folder = path.join(extensionPath, "server");
  try {
    const wheels = readdirSync(folder).filter((name) => /^otp_thinking-.*\.whl$/.test(name));
    return wheels.length > 0 ? path.join(folder, wheels.sort().pop() as string) : undefined;
  } catch {
    return undefined;
  }
}

export function venvPython(venv: string, platform: NodeJS.Platform = process.platform): string {
  return platform === "win32" ? path.join(venv, "Scripts", "python.exe") : path.join(venv, "bin", "python");
}

/** The first Python 3.11+ on PATH, or a problem that says what was found and what to do. */
export async function findPython(deps: ProvisionDeps): Promise<string | Problem> {
  const tooOld: string[] = [];
  const seen = new Set<string>();
  for (const candidate of PYTHON_CANDIDATES) {
    const found = deps.which(candidate);
    if (found === undefined || seen.has(found)) {
      continue;
    }
    seen.add(found);
    const probe = await deps.probePython(found);
    if (probe.kind === "ok" && isSupported(probe.version)) {
      return found;
    }
    if (probe.kind === "ok") {
      tooOld.push(`${found} is ${probe.version.join(".")}`);
    }
  }
  const wanted = `Python ${MIN_PYTHON.join(".")} or newer`;
  return {
    message:
      `The otp-thinking server needs ${wanted}, and none was found on PATH` +
      (tooOld.length > 0 ? ` (${tooOld.join("; ")}).` : ` (looked for ${PYTHON_CANDIDATES.join(", ")}).`),
    fix:
      `Install ${wanted} (Debian, Ubuntu: "sudo apt-get install python3 python3-venv") and run ` +
      `"otp-thinking: Restart server", or set "otpThinking.server.pythonPath" to one.`,
  };
}

/**
 * A launch of the bundled server: the extension's virtualenv when it already holds this wheel,
 * else one made now (`python -m venv`, then `pip install` of the wheel and its dependencies).
 */
export async function provisionServer(
  wheel: string,
  storage: string,
  args: string[],
  deps: ProvisionDeps,
): Promise<Launch | Problem> {
  const venv = path.join(storage, "server-venv");
  const python = venvPython(venv, deps.platform);
  const marker = path.join(venv, MARKER);
  const launch: Launch = {
    command: python,
    args: ["-m", "otp_thinking", "lsp", ...args],
    origin: `the server bundled with the extension, installed in ${venv}`,
  };
  if (existsSync(python) && readText(marker) === path.basename(wheel)) {
    return launch;
  }
  const base = await findPython(deps);
  if (typeof base !== "string") {
    return base;
  }
  deps.progress(`Creating a Python environment for the server with ${base}`);
  rmSync(venv, { recursive: true, force: true });
  mkdirSync(storage, { recursive: true });
  const created = await deps.run(base, ["-m", "venv", venv], INSTALL_TIMEOUT_MS);
  if (!created.ok || !existsSync(python)) {
    return {
      message: `"${base} -m venv" could not create the server's environment: ${lastLine(created.output)}`,
      fix: `On Debian and Ubuntu install venv support ("sudo apt-get install python3-venv"), then run "otp-thinking: Restart server".`,
    };
  }
  deps.progress("Installing the otp-thinking server and its dependencies (pygls, tree-sitter)");
  const installed = await deps.run(
    python,
    ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet", wheel],
    INSTALL_TIMEOUT_MS,
  );
  if (!installed.ok) {
    return {
      message: `Installing the bundled otp-thinking server failed: ${lastLine(installed.output)}`,
      fix: `pip needs to reach the package index for the server's dependencies; check the network or proxy, then run "otp-thinking: Restart server". The "otp-thinking" output has pip's messages.`,
    };
  }
  writeFileSync(marker, path.basename(wheel), "utf8");
  return launch;
}

/** Run a command, capturing its output (never throws). */
export function runCommand(
  command: string,
  args: string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ ok: error === null, output: `${stdout}${stderr}${error ? `\n${error.message}` : ""}` });
    });
  });
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

function lastLine(output: string): string {
  const lines = output.trim().split(/\r?\n/).filter((line) => line.trim() !== "");
  return lines.length > 0 ? lines[lines.length - 1] : "no output";
}
