#!/usr/bin/env bash
# Runs the listing memory benchmark (see bench/listing-memory.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
exec node -r @backstage/cli/config/nodeTransform.cjs bench/listing-memory.ts "$@"
