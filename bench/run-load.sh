#!/usr/bin/env bash
# Load: N small local → local migrations through the REST API of R backend
# replicas sharing one fresh PostgreSQL database (see bench/load.ts).
#   bench/run-load.sh [--migrations 5000] [--objects-per-dataset 3] [--replicas 2]
#       [--client-concurrency 16] [--concurrency 8] [--poll-ms 100]
#       [--object-bytes 1024] [--timeout-min 30] [--auto-approve] [--spot-check 50] [--keep]
# BENCH_PG: admin connection (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh >/dev/null
exec node -r @backstage/cli/config/nodeTransform.cjs bench/load.ts "$@"
