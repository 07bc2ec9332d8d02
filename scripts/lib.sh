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

# start_local_server: starts nats-server -js on a free port with a temporary store,
# sets NATS_URL, and stops the server (and removes the store) when the script exits.
start_local_server() {
  local port store
  port=$(free_port)
  store=$(mktemp -d)
  nats-server -js -a 127.0.0.1 -p "$port" -sd "$store" >"$store/server.log" 2>&1 &
  local pid=$!
  # The script's own exit status stands: the server's (killed) status must not replace it.
  trap "status=\$?; kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf '$store'; exit \$status" EXIT
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      export NATS_URL="nats://127.0.0.1:$port"
      echo "started nats-server -js on $NATS_URL (store $store)"
      return 0
    fi
    sleep 0.05
  done
  echo "nats-server did not start:" >&2; cat "$store/server.log" >&2
  return 1
}
