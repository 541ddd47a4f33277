/**
 * The extension's settings, read from any `get(key)` source (VS Code's WorkspaceConfiguration in
 * the editor, a plain object in tests), and the part of them the server understands.
 *
 * The server takes the keys of `.otp-thinking.toml` (`rules`, `paths`, `names`) plus the editor-only
 * `workspaceDiagnostics`, and warns about any other key, so only those are sent as
 * `initializationOptions` and on `workspace/configuration`.
 */

export const SECTION = "otpThinking";
export const DEFAULT_COMMAND = "otp-thinking";

export interface SettingsSource {
  get<T>(key: string): T | undefined;
}

export interface ServerSettings {
  /** The `otp-thinking` executable: a name looked up on PATH or a path. */
  command: string;
  /** When set, the server runs as `<pythonPath> -m otp_thinking lsp` instead. */
  pythonPath: string;
  /** Extra arguments after `lsp`. */
  args: string[];
}

export interface RuleConfiguration {
  rules?: Record<string, string>;
  paths?: { exclude?: string[]; test?: string[] };
  names?: Record<string, string>;
  /** Diagnostics for files that are not open too. Always sent when it is a boolean, so that
   * turning it off reaches the server. */
  workspaceDiagnostics?: boolean;
}

const NAME_KEYS = ["task_supervisor", "registry", "pg_scope"];

export function readServerSettings(source: SettingsSource): ServerSettings {
  const command = stringOr(source.get<string>("server.path"), "").trim();
  return {
    command: command === "" ? DEFAULT_COMMAND : command,
    pythonPath: stringOr(source.get<string>("server.pythonPath"), "").trim(),
    args: stringList(source.get<string[]>("server.args")),
  };
}

/** What the server reads: only the keys the user actually set, so `.otp-thinking.toml` still applies. */
export function readRuleConfiguration(source: SettingsSource): RuleConfiguration {
  const result: RuleConfiguration = {};
  const rules = plainObject(source.get("rules"));
  const ruleEntries = Object.entries(rules).filter(([, value]) => typeof value === "string");
  if (ruleEntries.length > 0) {
    result.rules = Object.fromEntries(ruleEntries) as Record<string, string>;
  }
  const paths: { exclude?: string[]; test?: string[] } = {};
  for (const key of ["exclude", "test"] as const) {
    const globs = source.get<unknown>(`paths.${key}`);
    if (Array.isArray(globs)) {
      paths[key] = stringList(globs);
    }
  }
  if (Object.keys(paths).length > 0) {
    result.paths = paths;
  }
  const names = plainObject(source.get("names"));
  const nameEntries = NAME_KEYS.flatMap((key) => {
    const value = names[key];
    return typeof value === "string" && value.trim() !== "" ? [[key, value.trim()]] : [];
  });
  if (nameEntries.length > 0) {
    result.names = Object.fromEntries(nameEntries);
  }
  const workspaceDiagnostics = source.get<unknown>("workspaceDiagnostics");
  if (typeof workspaceDiagnostics === "boolean") {
    result.workspaceDiagnostics = workspaceDiagnostics;
  }
  return result;
}

/** True when a change to these settings needs a new server process (not just new rule settings). */
export function affectsServerProcess(affects: (section: string) => boolean): boolean {
  return affects(`${SECTION}.server`);
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === "string" ? value : fallback;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

function plainObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
