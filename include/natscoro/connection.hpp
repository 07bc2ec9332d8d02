// The connection to a NATS server or cluster.
#pragma once

#include <natscoro/connect_options.hpp>
#include <natscoro/diagnostics.hpp>
#include <natscoro/error.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>

#include <cstdint>
#include <memory>
#include <string>

struct __natsConnection;  // nats.c's natsConnection

namespace natscoro {

class connection;

namespace detail {
class connection_core;
struct access;
void async_connect(boost::asio::any_io_executor ex, connect_options opts,
                   boost::asio::any_completion_handler<void(error_code, connection)> handler);
}  // namespace detail

enum class connection_status { connecting, connected, reconnecting, draining, closed };

/// What the server told us about itself and the link.
struct server_info {
  std::string connected_url;  ///< with any password or token in it replaced by "***"
  std::string server_id;
  std::int64_t max_payload = 0;  ///< bytes the server accepts in one message
  std::uint64_t client_id = 0;
  std::string client_ip;
  bool headers = false;  ///< the server supports message headers (JetStream needs them)
};

/// A connection to NATS: a cheap, copyable handle to shared state.
///
/// Thread safety: a connection and everything built on it may be used from any
/// thread. Their state lives on one strand, get_executor(): the executor given to
/// connect() if it is a strand, else a strand over it (docs/threading.md). The
/// connection reports its state changes there, through connect_options::on_event and the log.
///
/// Lifetime: an open connection is outstanding work on its executor, so
/// `io_context::run()` returns only once it is closed. Destroying the last
/// handle closes it (flushing first) without blocking the executor thread.
class connection {
 public:
  using executor_type = boost::asio::any_io_executor;

  /// An empty handle; connect() gives a usable one.
  connection() = default;

  executor_type get_executor() const;

  /// Whether this handle refers to a connection (open or not).
  explicit operator bool() const noexcept { return core_ != nullptr; }

  /// The state as nats.c's callbacks last reported it; it never waits (nats.c's
  /// own status call waits for its lock, which it holds through each reconnect attempt).
  connection_status status() const;
  bool is_connected() const { return status() == connection_status::connected; }

  /// The server's identity and limits, as of the current link. Asks nats.c,
  /// which may wait for its lock while a reconnect attempt holds it (up to
  /// connect_options::connect_timeout).
  server_info info() const;

  /// Drains, then closes the connection.
  ///
  /// Waits for: every subscription to be drained (messages already received are
  ///   handed over), what was published to be flushed to the server, and the
  ///   connection to be closed.
  /// Completion: `void(error_code)`.
  /// Errors: nats_errc::timeout when draining takes longer than `timeout`
  ///   (the connection is closed anyway); not_connected when the connection was
  ///   lost and could not be drained (it is closed). Draining a closed
  ///   connection succeeds at once.
  /// Cancellation: terminal only: completes with operation_aborted at once; the drain goes on.
  template <class CompletionToken = natscoro::default_token_t>
  auto drain(std::chrono::milliseconds timeout, CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(error_code)>(
        [](auto handler, std::shared_ptr<detail::connection_core> core, std::chrono::milliseconds t) {
          async_drain(std::move(core), t, std::move(handler));
        },
        token, core_, timeout);
  }

  /// drain() with a 30 s timeout.
  template <class CompletionToken = natscoro::default_token_t>
  auto drain(CompletionToken&& token = {}) {
    return drain(std::chrono::seconds(30), std::forward<CompletionToken>(token));
  }

  /// Closes the connection without draining (what was published is flushed
  /// first, for up to a second). Returns at once; the `closed` event follows.
  void close();

  /// The nats.c connection, for what natscoro does not wrap. Do not close it.
  __natsConnection* native_handle() const;

 private:
  friend class detail::connection_core;
  friend struct detail::access;
  explicit connection(std::shared_ptr<void> owner, std::shared_ptr<detail::connection_core> core)
      : owner_(std::move(owner)), core_(std::move(core)) {}

  static void async_drain(std::shared_ptr<detail::connection_core> core, std::chrono::milliseconds timeout,
                          boost::asio::any_completion_handler<void(error_code)> handler);

  std::shared_ptr<void> owner_;  ///< closes the connection when the last handle goes
  std::shared_ptr<detail::connection_core> core_;
};

/// Connects to NATS.
///
/// Waits for: the TCP (and TLS) connection and the NATS handshake with one of
///   `opts.servers`, each tried once with `opts.connect_timeout`. The blocking
///   work runs on natscoro's own thread pool, never on an executor thread.
/// Completion: `void(error_code, connection)`, on `ex` unless the token has an
///   associated executor of its own.
/// Errors: nats_errc::no_server (nothing reachable), nats_errc::authorization_failed,
///   nats_errc::ssl_error (TLS handshake or verification), nats_errc::address_missing
///   (bad URL), errc::invalid_argument (bad options, e.g. an unreadable file);
///   the detail is logged at error level.
/// Cancellation: any type; completes with operation_aborted at once, and a
///   connection established afterwards is closed.
template <class CompletionToken = natscoro::default_token_t>
auto connect(boost::asio::any_io_executor ex, const connect_options& opts, CompletionToken&& token = {}) {
  return boost::asio::async_initiate<CompletionToken, void(error_code, connection)>(
      [](auto handler, boost::asio::any_io_executor e, connect_options o) {
        detail::async_connect(std::move(e), std::move(o), std::move(handler));
      },
      token, std::move(ex), opts);
}

}  // namespace natscoro
