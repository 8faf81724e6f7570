#!/usr/bin/env bash
# Generate the API clients from the schema a live server serves, and use them (docs/api-clients.md):
#   1. a server of its own (SQLite in a temp dir, seed_demo) on a free port;
#   2. its /api/schema/ linted with Redocly's recommended rules;
#   3. a Python client by openapi-python-client (default options), installed in a temp venv;
#   4. TypeScript types by openapi-typescript, and client.ts checked with `tsc --strict`;
#   5. flow.py through the Python client against the server: log in, the week's timetable, book,
#      cancel, the ledger, ask for a package.
# Exits non-zero on any failure, also on a generator warning. `make clients` runs it; so does CI.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PYTHON="${APP_PYTHON:-$ROOT/.venv/bin/python}"  # the app's venv (make venv-dev)
BOOTSTRAP_PYTHON="${BOOTSTRAP_PYTHON:-$(command -v python3.11 || command -v python3)}"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
step() { echo "== clients: $*"; }
# pip, quiet; without the notes this machine's pip configuration prints about missing local indexes
pip_install() { "$WORK/venv/bin/pip" install --quiet --disable-pip-version-check "$@" 2> >(grep -v "is ignored: it is neither" >&2); }

export DATABASE_URL="" SQLITE_PATH="$WORK/db.sqlite3" SPINNING_ALLOW_DEV_SECRET=1 DEBUG=1
cd "$ROOT"

step "server (SQLite in $WORK, seed_demo)"
"$PYTHON" manage.py migrate --noinput >"$WORK/migrate.log"
"$PYTHON" manage.py seed_demo >"$WORK/seed.log"
PORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
"$PYTHON" manage.py runserver "127.0.0.1:$PORT" --noreload >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 60); do
  curl -fsS "$BASE/api/health" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
  sleep 0.5
done
curl -fsS "$BASE/api/schema/" -o "$WORK/schema.yaml"
curl -fsS "$BASE/api/schema/?format=json" -o "$WORK/schema.json"

step "npm ci (Redocly CLI, openapi-typescript, TypeScript; tests/clients/package-lock.json)"
(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

step "redocly lint (recommended rules; tests/clients/redocly.yaml)"
(cd "$HERE" && npx --no-install redocly lint "$WORK/schema.yaml" --config redocly.yaml --format=summary 2>&1 \
  | grep -v -e '^\s*[║╔╚]' -e '^\s*$')

step "Python client (openapi-python-client, default options)"
"$BOOTSTRAP_PYTHON" -m venv "$WORK/venv"
pip_install -r "$HERE/requirements.txt"
# Its post-generation hooks run ruff: the project's.
(cd "$WORK" && PATH="$(dirname "$PYTHON"):$PATH" "$WORK/venv/bin/openapi-python-client" generate --path "$WORK/schema.json" \
  >"$WORK/generate.log" 2>&1) || { cat "$WORK/generate.log"; exit 1; }
cat "$WORK/generate.log"
if grep -qi "warning" "$WORK/generate.log"; then echo "!! openapi-python-client warned"; exit 1; fi
pip_install "$WORK"/spinning-studio-api-client

step "TypeScript types (openapi-typescript) and tsc --strict"
mkdir -p "$HERE/generated"
(cd "$HERE" && npx --no-install openapi-typescript "$WORK/schema.json" --default-non-nullable false -o generated/api.d.ts 2>&1 | tail -1)
(cd "$HERE" && npx --no-install tsc -p tsconfig.json)

step "a member's flow through the Python client against $BASE"
"$WORK/venv/bin/python" "$HERE/flow.py" "$BASE" demo zeynep@example.com ride-demo-2026

step "OK"
