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

# The server the .vsix carries: a wheel of otp-thinking, installed on first start into the
# extension's own virtualenv (src/provision.ts); test/provision.test.ts installs it for real.
python="${OTP_THINKING_PYTHON:-python3}"
rm -rf server && mkdir server
"$python" -m pip wheel --quiet --no-deps --wheel-dir server ../..
ls server/otp_thinking-*.whl

npm ci --no-audit --no-fund
npx --no-install tsc -p .
node --test out/test/*.test.js
rm -f otp-thinking.vsix
npx --no-install vsce package --allow-missing-repository --out otp-thinking.vsix
ls -l otp-thinking.vsix
node scripts/check-vsix.js otp-thinking.vsix
