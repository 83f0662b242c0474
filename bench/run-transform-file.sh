#!/usr/bin/env bash
# Runs the transform benchmark (see bench/transform-file.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
exec node -r @backstage/cli/config/nodeTransform.cjs bench/transform-file.ts "$@"
