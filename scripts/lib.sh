# Shared by the scripts: paths, the compiler, and a local nats-server.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CXX=${CXX:-clang++-19}

# configure BUILD_DIR [cmake args...]: configures a Ninja build with clang-19.
configure() {
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_CXX_COMPILER="$CXX" \
        -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
}

# free_port: a loopback port nothing listens on now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_server [PORT]: starts nats-server -js on PORT (default: a free port) with a
# fresh temporary store; sets NATS_URL, SERVER_PID and SERVER_STORE. stop_server
# stops it and removes the store.
start_server() {
  local port=${1:-$(free_port)}
  SERVER_STORE=$(mktemp -d)
  nats-server -js -a 127.0.0.1 -p "$port" -sd "$SERVER_STORE" >"$SERVER_STORE/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      export NATS_URL="nats://127.0.0.1:$port"
      echo "started nats-server -js on $NATS_URL (store $SERVER_STORE)" >&2
      return 0
    fi
    sleep 0.05
  done
  echo "nats-server did not start:" >&2; cat "$SERVER_STORE/server.log" >&2
  return 1
}

stop_server() {
  [[ -n "${SERVER_PID:-}" ]] || return 0
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$SERVER_STORE"
  SERVER_PID=
}

# start_local_server: start_server, stopped when the script exits.
start_local_server() {
  # The script's own exit status stands: the server's (killed) status must not replace it.
  trap 'status=$?; stop_server; exit $status' EXIT
  start_server
}

# start_postgres: initdb and start a PostgreSQL server (the newest installed) on a
# free loopback port in a temporary directory, as "nobody" when run as root
# (PostgreSQL refuses root); sets PG_CONNINFO, PG_DIR. stop_postgres stops it
# and removes the directory.
start_postgres() {
  local bin port run=()
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  port=$(free_port)
  PG_DIR=$(mktemp -d)
  if [[ $(id -u) -eq 0 ]]; then chown nobody "$PG_DIR"; run=(runuser -u nobody --); fi
  "${run[@]}" "$bin/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 --locale=C --no-sync >/dev/null
  "${run[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1" start >/dev/null
  PG_BIN=$bin
  export PG_CONNINFO="host=127.0.0.1 port=$port user=postgres dbname=postgres"
  echo "started PostgreSQL on 127.0.0.1:$port ($PG_DIR)" >&2
}

stop_postgres() {
  [[ -n "${PG_DIR:-}" ]] || return 0
  local run=()
  [[ $(id -u) -eq 0 ]] && run=(runuser -u nobody --)
  "${run[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  PG_DIR=
}
