#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need into .venv, starts
# Redis and PostgreSQL when they are not running (installing them from Debian if absent),
# then runs ruff, mypy --strict, import-linter and pytest. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
REDIS_PORT=${SYNDICATE_TEST_REDIS_PORT:-6379}
PG_PORT=${SYNDICATE_TEST_POSTGRES_PORT:-5432}
export SYNDICATE_TEST_REDIS_URL=${SYNDICATE_TEST_REDIS_URL:-redis://127.0.0.1:${REDIS_PORT}/15}
export SYNDICATE_TEST_POSTGRES_URL=${SYNDICATE_TEST_POSTGRES_URL:-postgresql+psycopg://postgres:postgres@127.0.0.1:${PG_PORT}/test}

say() { printf '\n== %s\n' "$*"; }

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "need $* but cannot apt-get install as non-root; install it or start the service" >&2
    exit 1
  fi
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 60); do tcp_open "$1" && return 0; sleep 0.5; done
  echo "service on port $1 did not come up" >&2; exit 1
}

ensure_redis() {
  tcp_open "$REDIS_PORT" && return 0
  say "starting Redis on 127.0.0.1:$REDIS_PORT"
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /tmp/syndicate-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" \
    --appendonly no --dir /tmp/syndicate-redis --logfile /tmp/syndicate-redis/redis.log
  wait_port "$REDIS_PORT"
}

ensure_postgres() {
  if ! tcp_open "$PG_PORT"; then
    say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    command -v pg_ctlcluster >/dev/null || apt_install postgresql
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    wait_port "$PG_PORT"
    # A fresh Debian cluster wants a password over TCP; give the tests one.
    su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
  fi
  if ! su postgres -c "psql -At -c \"SELECT 1 FROM pg_database WHERE datname = 'test'\"" 2>/dev/null | grep -q 1; then
    su postgres -c "createdb test" 2>/dev/null || true
  fi
}

ensure_chromium() {
  # The browser tests drive Debian's Chromium through Playwright (executable_path); Playwright's
  # own browser download (`playwright install`) needs a network the CI does not have.
  [ -x /usr/bin/chromium ] && return 0
  say "installing Chromium from Debian"
  apt_install chromium
}

say "installing into .venv"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
if ! .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]' \
    >.venv/pip-install.log 2>&1; then
  cat .venv/pip-install.log >&2
  exit 1
fi

ensure_redis
ensure_postgres
ensure_chromium

export PATH="$PWD/.venv/bin:$PATH"
say "ruff";           ruff check syndicate tasks tests bench && ruff format --check syndicate tasks tests bench
say "mypy --strict";  mypy
say "import-linter";  lint-imports
say "pytest";         pytest -q "$@"
