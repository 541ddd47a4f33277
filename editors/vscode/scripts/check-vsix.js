// Smoke test of the packaged extension: unpack the .vsix, load its entry point with the real
// vscode-languageclient it ships (only `vscode` itself is a stand-in) and check the manifest points
// at it. Catches a .vscodeignore that drops a file the extension needs at run time.
"use strict";
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const Module = require("node:module");
const os = require("node:os");
const path = require("node:path");

const vsix = path.resolve(process.argv[2] || "otp-thinking.vsix");
const folder = fs.mkdtempSync(path.join(os.tmpdir(), "otp-vsix-"));
execFileSync("python3", ["-m", "zipfile", "-e", vsix, folder]);
const root = path.join(folder, "extension");
const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));

const anything = { get: (target, key) => (key in target ? target[key] : new Proxy(function () {}, anything)) };
const load = Module._load;
Module._load = function (request, parent, isMain) {
  return request === "vscode" ? new Proxy({}, anything) : load.call(this, request, parent, isMain);
};

const extension = require(path.join(root, manifest.main));
const client = require(path.join(root, "node_modules", "vscode-languageclient", "node"));
const problems = [];
if (typeof extension.activate !== "function") problems.push("no activate() in " + manifest.main);
if (typeof client.LanguageClient !== "function") problems.push("vscode-languageclient/node does not load");
const shipped = execFileSync("python3", ["-m", "zipfile", "-l", vsix]).toString();
for (const unwanted of ["out/test/", "src/extension.ts", ".py"]) {
  if (shipped.includes(unwanted)) problems.push("the .vsix contains " + unwanted);
}
if (!/extension\/server\/otp_thinking-[^\s/]+-py3-none-any\.whl/.test(shipped)) {
  problems.push("the .vsix carries no server wheel (extension/server/otp_thinking-*.whl)");
}
fs.rmSync(folder, { recursive: true, force: true });
if (problems.length > 0) {
  console.error("vsix check failed:\n  " + problems.join("\n  "));
  process.exit(1);
}
console.log(`vsix check: ${path.basename(vsix)} ok: loads ${manifest.main} and vscode-languageclient/node, carries the server wheel`);
