#!/usr/bin/env bash
# Build, unit-test and package the VS Code extension offline: npm ci, tsc, node --test, vsce package.
# VS Code itself is never downloaded: the tests stub the `vscode` module.
set -euo pipefail
cd "$(dirname "$0")"

npm ci --no-audit --no-fund
npx --no-install tsc -p .
node --test out/test/*.test.js
rm -f otp-thinking.vsix
npx --no-install vsce package --allow-missing-repository --out otp-thinking.vsix
ls -l otp-thinking.vsix
node scripts/check-vsix.js otp-thinking.vsix
