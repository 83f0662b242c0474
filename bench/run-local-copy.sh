#!/usr/bin/env bash
# Runs the local → local engine benchmark (see bench/local-copy.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
exec node -r @backstage/cli/config/nodeTransform.cjs bench/local-copy.ts "$@"
