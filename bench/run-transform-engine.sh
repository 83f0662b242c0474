#!/usr/bin/env bash
# Runs the transform-through-the-engine benchmark (see bench/transform-engine.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
exec node -r @backstage/cli/config/nodeTransform.cjs bench/transform-engine.ts "$@"
