#!/usr/bin/env bash
# The whole engine through its REST API vs rclone copy + check --download,
# S3 (s3rver) / local / GCS test server on loopback (see bench/engine-vs-rclone.ts).
#   bench/run-engine-vs-rclone.sh [--routes s3-local,local-s3,s3-s3,s3-gcs] [--cases a,b,c]
#       [--concurrency 8] [--poll-ms 100] [--part-mib 64] [--cpu-prof ROUTE:CASE]
#       [--rounds N]   (each route N times; prints every ratio and the median)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh >/dev/null
if ! command -v rclone >/dev/null; then
  echo "rclone missing: apt-get install -y -o DPkg::Lock::Timeout=600 rclone (Debian, 1.60)" >&2
  exit 1
fi
exec node -r @backstage/cli/config/nodeTransform.cjs bench/engine-vs-rclone.ts "$@"
