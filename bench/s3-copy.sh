#!/usr/bin/env bash
# Benchmark: S3 (s3rver) → local and S3 → GCS test server, backends vs rclone.
# Installs nothing; prints how to get rclone when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh >/dev/null
exec node -r @backstage/cli/config/nodeTransform.cjs bench/s3-copy.ts "$@"
