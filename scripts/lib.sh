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

# start_server: starts nats-server -js on a free port with a fresh temporary store;
# sets NATS_URL, SERVER_PID and SERVER_STORE. stop_server stops it and removes the store.
start_server() {
  local port
  port=$(free_port)
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
