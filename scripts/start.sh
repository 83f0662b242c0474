#!/usr/bin/env bash
# Quick start (1): set up everything and start the portal with the example
# datasets on the embedded defaults (SQLite under .data/, local-filesystem
# storage) at http://localhost:3000 — sign in as guest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
source scripts/install-deps.sh
mkdir -p .data/sqlite .data/targets
exec yarn start "$@"
