#!/usr/bin/env bash
# Builds the portal's frontend, starts the backend (which serves it) on a
# throwaway SQLite database and target folder, and runs the Playwright tests
# in packages/app/e2e-tests against it in headless Chromium. Writes
# "<passed> <failed>" to .tools/results/e2e-counts. Expects scripts/env.sh and
# ensure-chromium.sh sourced.
set -uo pipefail
cd "$(dirname "$0")/.."
export DMIG_E2E_PORT="${DMIG_E2E_PORT:-7077}"
work="$(mktemp -d /tmp/dataset-migration-e2e.XXXXXX)"
mkdir -p "$work/sqlite" "$work/targets" .tools/results
rm -f .tools/results/e2e-counts
export DMIG_E2E_CONFIG="$work/app-config.e2e.yaml"
cat > "$DMIG_E2E_CONFIG" <<YAML
app:
  baseUrl: http://localhost:$DMIG_E2E_PORT
backend:
  baseUrl: http://localhost:$DMIG_E2E_PORT
  listen: { port: $DMIG_E2E_PORT }
  cors: { origin: http://localhost:$DMIG_E2E_PORT }
  database:
    client: better-sqlite3
    connection: { directory: $work/sqlite }
datasetMigration:
  storage:
    local:
      roots:
        - { name: examples, path: $PWD/examples/data }
        - { name: targets, path: $work/targets }
YAML
export DMIG_E2E_TARGETS="$work/targets"

if ! yarn workspace app build >"$work/app-build.log" 2>&1; then
  tail -n 40 "$work/app-build.log"
  echo "0 1" > .tools/results/e2e-counts; exit 0
fi
rm -f .tools/results/e2e.json .tools/results/e2e-counts
yarn playwright test
node -e '
  try { const s = require(process.argv[1]).stats;
    console.log((s.expected || 0) + (s.flaky || 0), (s.unexpected || 0) + (s.skipped || 0) + (s.interrupted || 0) || (s.expected ? 0 : 1));
  } catch { console.log(0, 1); }' "$PWD/.tools/results/e2e.json" > .tools/results/e2e-counts
rm -rf "$work"
