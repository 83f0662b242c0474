#!/usr/bin/env bash
# Main-thread CPU per small GET: AWS SDK command vs a signed request (see bench/s3-get-cpu.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
exec node -r @backstage/cli/config/nodeTransform.cjs bench/s3-get-cpu.ts "$@"
