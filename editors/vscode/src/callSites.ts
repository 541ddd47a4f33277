/**
 * The call-site code lens ("N call sites from M modules" on each `use GenServer`).
 *
 * The server points the lens at `otp-thinking.showCallSites` when the client declares that
 * command in `experimental.commands`; otherwise at its own `otp-thinking.callSites`, which only
 * answers the locations, so VS Code would show nothing. This module declares the command and
 * runs it as VS Code's peek-references view.
 */

import * as vscode from "vscode";
import type { ClientCapabilities, FeatureState, StaticFeature } from "vscode-languageclient/node";

export const SHOW_CALL_SITES_COMMAND = "otp-thinking.showCallSites";

interface LspPosition {
  line: number;
  character: number;
}

interface LspLocation {
  uri: string;
  range: { start: LspPosition; end: LspPosition };
}

/** Adds the command to `experimental.commands`, keeping whatever other features put there. */
export class CallSitesFeature implements StaticFeature {
  fillClientCapabilities(capabilities: ClientCapabilities): void {
    const experimental = (capabilities.experimental ?? {}) as { commands?: { commands?: string[] } };
    const declared = experimental.commands?.commands ?? [];
    experimental.commands = { commands: [...declared, SHOW_CALL_SITES_COMMAND] };
    capabilities.experimental = experimental;
  }

  initialize(): void {}

  getState(): FeatureState {
    return { kind: "static" };
  }

  clear(): void {}
}

/** The lens's command: the call sites in the peek view, at the lens. Bad arguments do nothing. */
export async function showCallSites(uri: unknown, position: unknown, locations: unknown): Promise<void> {
  if (typeof uri !== "string" || !isPosition(position) || !Array.isArray(locations)) {
    return;
  }
  const sites = locations.filter(isLocation).map(
    (site) => new vscode.Location(vscode.Uri.parse(site.uri), toRange(site.range.start, site.range.end)),
  );
  await vscode.commands.executeCommand(
    "editor.action.showReferences",
    vscode.Uri.parse(uri),
    toPosition(position),
    sites,
  );
}

function toPosition(position: LspPosition): vscode.Position {
  return new vscode.Position(position.line, position.character);
}

function toRange(start: LspPosition, end: LspPosition): vscode.Range {
  return new vscode.Range(toPosition(start), toPosition(end));
}

function isPosition(value: unknown): value is LspPosition {
  const candidate = value as LspPosition | null;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    Number.isInteger(candidate.line) &&
    Number.isInteger(candidate.character)
  );
}

function isLocation(value: unknown): value is LspLocation {
  const candidate = value as LspLocation | null;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.uri === "string" &&
    isPosition(candidate.range?.start) &&
    isPosition(candidate.range?.end)
  );
}
