// Everything that shapes a connection; defaults are chosen for services that
// must not lose events: reconnect forever, buffer while disconnected.
#pragma once

#include <natscoro/connection_event.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace natscoro {

struct tls_options {
  bool enabled = false;            ///< also implied by a "tls://" URL
  std::string ca_file;             ///< PEM file of trusted CAs (empty: the system's)
  std::string cert_file;           ///< client certificate (PEM), for mutual TLS
  std::string key_file;            ///< client private key (PEM)
  std::string expected_hostname;   ///< name to verify in the server certificate (empty: from the URL)
  bool skip_verification = false;  ///< accept any server certificate: for tests only
};

struct reconnect_options {
  bool allowed = true;
  int max_attempts = -1;                       ///< per server; -1: forever
  std::chrono::milliseconds wait{2000};        ///< between attempts on one server
  std::chrono::milliseconds jitter{100};       ///< random extra wait (plain TCP)
  std::chrono::milliseconds jitter_tls{1000};  ///< random extra wait (TLS)
  /// Bytes nats.c buffers between a link's loss and its report; natscoro writes
  /// nothing while the link is down (detail/wire.hpp), so little goes here.
  std::size_t buffer_size = 8 * 1024 * 1024;
};

struct connect_options {
  /// Server URLs (nats://host:port, tls://host:port); several for a cluster.
  std::vector<std::string> servers{"nats://127.0.0.1:4222"};
  std::string name;  ///< shown by the server's monitoring (connz)

  // Authentication: at most one of these schemes is normally used.
  std::string user;
  std::string password;
  std::string token;
  std::string credentials_file;  ///< a .creds file (user JWT + NKey seed)
  std::string nkey_public;       ///< an NKey user's public key ("U..."), with nkey_seed_file
  std::string nkey_seed_file;    ///< the file holding that user's NKey seed

  tls_options tls;

  std::chrono::milliseconds connect_timeout{2000};  ///< per server, per attempt
  /// How long one write to the socket may wait for a server that does not read
  /// (stopped, or its link saturated); nats.c then drops the link and reconnects.
  /// Writes happen on the calling thread (publishes, acks and pulls on the
  /// connection's executor), so this bounds how long they can hold it: about
  /// twice this at worst (nats.c's flusher may be waiting first). Positive; nats.c's
  /// own default is none, a blocking socket that waits as long as the server does.
  std::chrono::milliseconds write_deadline{2000};
  reconnect_options reconnect;
  std::chrono::milliseconds ping_interval{120'000};
  int max_pings_out = 2;
  bool no_echo = false;  ///< do not receive what this connection publishes
  /// Write every message (publish, ack, pull request) to the socket at once
  /// (nats.c's SendAsap). Off (nats.c's default), nats.c's flusher thread
  /// gathers writes for up to 1 ms, which lets a busy producer or consumer do
  /// more per system call; natscoro still writes a lone publish and JetStream API
  /// requests at once (see connection_core::flush_soon), so only acks and pulls
  /// wait. On costs pipelined throughput 25-45 % (benchmarks/README.md).
  bool send_asap = false;

  /// Degraded start: when no server answers, connect() completes anyway with a
  /// connection in status `connecting`, and nats.c keeps trying in the background
  /// (every reconnect.wait, up to reconnect.max_attempts rounds; forever by
  /// default); connection_event_kind::connected reports the first link. Until
  /// then a publisher's publishes wait in its window, unwritten, retried by its
  /// retry policy, and are sent when the link comes (errc::not_connected once the
  /// retries are spent); JetStream API requests fail with errc::not_connected at
  /// once. Off: connect() fails with nats_errc::no_server.
  bool retry_on_failed_connect = false;

  /// Called on the connection's executor for each state change (also logged).
  std::function<void(const connection_event&)> on_event;
};

}  // namespace natscoro
