# Sourced: installs node_modules when yarn.lock or a package.json changed since
# the last successful install (so a second run is instant).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stamp="$ROOT/node_modules/.install-stamp"
sum="$(cat "$ROOT/yarn.lock" "$ROOT"/package.json "$ROOT"/packages/*/package.json "$ROOT"/plugins/*/package.json | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
  echo "==> yarn install"
  if [ -n "${CI:-}" ]; then
    (cd "$ROOT" && yarn install --immutable) || exit 1
  else
    (cd "$ROOT" && yarn install) || exit 1
  fi
  echo "$sum" > "$stamp"
fi
