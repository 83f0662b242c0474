#!/usr/bin/env bash
# Quick start (2): set up everything and run every check: type-check, lint,
# formatting, all unit/integration tests on SQLite AND PostgreSQL, and the
# headless-Chromium end-to-end test of the portal. Ends with "N passed, N failed".
#   scripts/test.sh            everything
#   scripts/test.sh --no-e2e   skip the browser test (faster inner loop)
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
source scripts/install-deps.sh || exit 1
source scripts/ensure-postgres.sh || { echo "could not start PostgreSQL"; exit 1; }

E2E=1
for a in "$@"; do [ "$a" = "--no-e2e" ] && E2E=0; done
[ "$E2E" = 1 ] && { source scripts/ensure-chromium.sh || { echo "could not install Chromium"; exit 1; }; }

export CI=true
mkdir -p .tools/results
passed=0; failed=0
step() { # name, command...
  local name="$1"; shift
  local t0=$SECONDS
  echo "==> $name"
  if "$@"; then
    passed=$((passed + 1)); echo "    ok: $name ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1)); echo "    FAILED: $name ($((SECONDS - t0)) s)"
  fi
}

step "type-check (tsc)" yarn tsc
step "lint (eslint)" yarn backstage-cli repo lint
step "format (prettier)" yarn prettier --check --loglevel warn .

# Unit and integration tests; each test case counts.
rm -f .tools/results/jest.json
echo "==> tests (jest: SQLite + PostgreSQL at $BACKSTAGE_TEST_DATABASE_POSTGRES16_CONNECTION_STRING)"
t0=$SECONDS
yarn backstage-cli repo test --json --outputFile="$PWD/.tools/results/jest.json" 2>&1 | tail -n 60
jest_counts=$(node -e '
  try { const r = require(process.argv[1]);
    const broken = r.testResults.filter(t => t.status === "failed" && t.assertionResults.length === 0).length;
    console.log(r.numPassedTests, r.numFailedTests + broken);
  } catch (e) { console.log(0, 1); }' "$PWD/.tools/results/jest.json")
read -r jp jf <<<"$jest_counts"
echo "    jest: $jp passed, $jf failed ($((SECONDS - t0)) s)"
passed=$((passed + jp)); failed=$((failed + jf))

if [ "$E2E" = 1 ]; then
  echo "==> end-to-end (headless Chromium against the built portal)"
  t0=$SECONDS
  scripts/e2e.sh
  e2e_counts=$(cat .tools/results/e2e-counts 2>/dev/null || echo "0 1")
  read -r ep ef <<<"$e2e_counts"
  [[ "$ep" =~ ^[0-9]+$ && "$ef" =~ ^[0-9]+$ ]] || { ep=0; ef=1; }
  echo "    e2e: $ep passed, $ef failed ($((SECONDS - t0)) s)"
  passed=$((passed + ep)); failed=$((failed + ef))
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
