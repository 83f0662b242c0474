#!/usr/bin/env bash
# CPU of GCS uploads alone: chunkedUpload.ts vs the client library's stream (see bench/gcs-upload-cpu.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
exec node -r @backstage/cli/config/nodeTransform.cjs bench/gcs-upload-cpu.ts "$@"
