// An HTTP endpoint for operators, served on your executor with Boost.Beast:
//   GET /metrics   the metrics' Prometheus exposition (text format 0.0.4);
//   GET /healthz   200 "ok" when the service can do its job, else 503 and why:
//                  every registered connection has a link, JetStream answers
//                  (when a jetstream is given to probe), and no registered
//                  outbox's oldest pending event is older than max_outbox_age.
// Anything else: 404 (another path) or 405 (another method). One request per
// connection (the response closes it), as scrapers and probes do.
#pragma once

#include <natscoro/jetstream.hpp>
#include <natscoro/metrics.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <optional>

namespace natscoro {

struct health_options {
  /// Asked `$JS.API.INFO` at each /healthz: JetStream must answer within its API timeout.
  /// It is a handle like any other: while the server (and so this copy) lives, the
  /// connection stays open. Drain the connection, or destroy the server first, when
  /// you rely on the last handle's going to close it.
  std::optional<jetstream> probe;
  /// An outbox holding an event pending for longer means the broker has been out of reach that long.
  std::chrono::milliseconds max_outbox_age{std::chrono::seconds(60)};
};

class metrics_server {
 public:
  /// Listens on `endpoint` (port 0: a free one, see local_endpoint()) and serves
  /// `m` on `ex` until stop() or destruction. Throws boost::system::system_error
  /// when it cannot listen (the port is taken, say).
  metrics_server(boost::asio::any_io_executor ex, std::shared_ptr<const metrics> m,
                 const boost::asio::ip::tcp::endpoint& endpoint, health_options health = {});
  ~metrics_server();
  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;

  boost::asio::ip::tcp::endpoint local_endpoint() const;
  /// Stops listening and closes what is open; requests being answered are dropped.
  void stop();

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace natscoro
