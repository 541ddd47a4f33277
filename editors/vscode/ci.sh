#!/usr/bin/env bash
# Build, unit-test and package the VS Code extension offline: npm ci, tsc, node --test, vsce package.
# VS Code itself is never downloaded: the tests stub the `vscode` module.
set -euo pipefail
cd "$(dirname "$0")"

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "editors/vscode needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

npm ci --no-audit --no-fund
npx --no-install tsc -p .
node --test out/test/*.test.js
rm -f otp-thinking.vsix
npx --no-install vsce package --allow-missing-repository --out otp-thinking.vsix
ls -l otp-thinking.vsix
node scripts/check-vsix.js otp-thinking.vsix
