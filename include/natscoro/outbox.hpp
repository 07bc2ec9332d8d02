// The outbox: events made durable on local disk first (an SQLite spool), then
// relayed to JetStream, so nothing is lost while NATS is down, when the process
// dies, or when the service starts without a broker.
#pragma once

#include <natscoro/diagnostics.hpp>
#include <natscoro/event.hpp>
#include <natscoro/jetstream.hpp>
#include <natscoro/publisher.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace natscoro {

/// What every outbox's relay does (the SQLite outbox and postgres_outbox).
struct outbox_relay_options {
  /// Events the relay reads and publishes per pass.
  std::size_t relay_batch = 1024;
  /// The relay's longest wait between passes while publishing fails (no stream, say).
  /// While the connection is down it publishes nothing and looks again every 200 ms.
  std::chrono::milliseconds max_backoff{5000};
  /// The relay's publisher: source, window (max_in_flight), ack timeout, retries.
  publisher_options publish{};
  /// Called on the executor when the oldest pending event gets older than
  /// `alert_age` (0: never), once per crossing, with its age.
  std::chrono::milliseconds alert_age{0};
  std::function<void(std::chrono::milliseconds)> on_alert;
};

struct outbox_options : outbox_relay_options {
  /// The SQLite file (created if missing; WAL mode adds "-wal" and "-shm" beside it).
  std::string path;
  /// PRAGMA synchronous=FULL: a stored event survives a power cut. Off (NORMAL):
  /// a process crash loses nothing, a power cut may lose the last commits.
  bool synchronous_full = true;
  /// Bytes of events the outbox may hold before publish() fails with errc::outbox_full.
  std::uint64_t max_bytes = std::uint64_t{1} << 30;
};

struct outbox_stats {
  std::uint64_t pending = 0;        ///< stored, not yet relayed
  std::uint64_t pending_bytes = 0;  ///< what they count against max_bytes
  std::chrono::milliseconds oldest_pending_age{0};
  std::uint64_t stored = 0;   ///< publishes made durable by this instance
  std::uint64_t commits = 0;  ///< group commits (fsyncs) that stored them
  std::uint64_t relayed = 0;  ///< PubAck'd and removed from the outbox
  std::uint64_t failed = 0;   ///< relay publishes that failed (the event stays, and goes again)
  std::uint64_t refused = 0;  ///< events the relay will never publish (invalid subject, too large,
                              ///< damaged): kept in the store, marked with the reason, logged
};

namespace detail {
class outbox_core;

/// What both outboxes (outbox, postgres_outbox) do once open: store an event,
/// close, report. A copyable handle; the last copy's going closes the outbox.
class outbox_handle {
 public:
  /// Stores `evt` for `subject` (empty: publish.subject_prefix + "." + type), filled
  /// and validated as publisher::publish() does (postgres_outbox: in a transaction
  /// of its own on the relay's connection).
  /// Waits for: the commit that makes it durable; publishes waiting at the same
  ///   time share one commit (one fsync).
  /// Completion: `void(error_code)`: stored; the relay publishes it.
  /// Errors: errc::invalid_event, errc::invalid_subject, errc::payload_too_large
  ///   (refused, nothing stored); errc::closing (the outbox is closing);
  ///   SQLite: errc::outbox_full (the quota or the disk), errc::outbox_corrupt;
  ///   PostgreSQL: errc::database_unavailable, errc::database_error.
  /// Cancellation: terminal only: completes with operation_aborted at once; an event
  ///   handed to the outbox may still be stored (and relayed). Partial and total are ignored.
  template <class CompletionToken = natscoro::default_token_t>
  auto publish(std::string subject, event evt, CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(error_code)>(
        [](auto handler, std::shared_ptr<outbox_core> c, std::string s, event e) {
          async_publish(c, std::move(s), std::move(e), std::move(handler));
        },
        token, core_, std::move(subject), std::move(evt));
  }
  template <class CompletionToken = natscoro::default_token_t>
  auto publish(event evt, CompletionToken&& token = {}) {
    return publish(std::string(), std::move(evt), std::forward<CompletionToken>(token));
  }

  /// Stops relaying (publishes in flight finish; claimed events not sent are
  /// released), then closes the store. What is not relayed stays for the next open.
  /// Waits for: the relay's publishes in flight, then the store's close.
  /// Completion: `void(error_code)`.
  /// Errors: none of its own.
  /// Cancellation: terminal only: completes with operation_aborted at once; the close goes on.
  template <class CompletionToken = natscoro::default_token_t>
  auto close(CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(error_code)>(
        [](auto handler, std::shared_ptr<outbox_core> c) { async_close(c, std::move(handler)); }, token, core_);
  }

  outbox_stats stats() const;

 protected:
  outbox_handle() = default;
  /// Owns `core`: its going (the last copy's) closes the outbox in the background.
  explicit outbox_handle(std::shared_ptr<outbox_core> core);
  const std::shared_ptr<outbox_core>& core() const { return core_; }

 private:
  friend struct access;
  static void async_publish(const std::shared_ptr<outbox_core>& core, std::string subject, event evt,
                            boost::asio::any_completion_handler<void(error_code)> handler);
  static void async_close(const std::shared_ptr<outbox_core>& core,
                          boost::asio::any_completion_handler<void(error_code)> handler);

  std::shared_ptr<void> owner_;  ///< the last handle's going closes the outbox
  std::shared_ptr<outbox_core> core_;
};

}  // namespace detail

/// An outbox on one SQLite file, relaying through its own publisher on `js`.
/// Safe from any thread. Events are relayed with Nats-Msg-Id =
/// event id, so a crash between a PubAck and the removal from the file stores the
/// event once (within the stream's duplicate window).
class outbox : public detail::outbox_handle {
 public:
  /// Opens (or creates) the outbox and starts relaying what it holds.
  /// Waits for: the file opened and checked, on the outbox's own thread.
  /// Completion: `void(error_code, outbox)`.
  /// Errors: errc::outbox_corrupt (not an SQLite database, or damaged),
  ///   errc::invalid_argument (the file cannot be opened or created; the log says why).
  /// Cancellation: terminal only: completes with operation_aborted at once; an outbox
  ///   opened afterwards is closed. Partial and total are ignored.
  template <class CompletionToken = natscoro::default_token_t>
  static auto open(const jetstream& js, outbox_options opts, CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(error_code, outbox)>(
        [](auto handler, jetstream j, outbox_options o) { async_open(j, std::move(o), std::move(handler)); }, token, js,
        std::move(opts));
  }

  outbox() = default;

 private:
  explicit outbox(std::shared_ptr<detail::outbox_core> core) : outbox_handle(std::move(core)) {}
  static void async_open(const jetstream& js, outbox_options opts,
                         boost::asio::any_completion_handler<void(error_code, outbox)> handler);
};

}  // namespace natscoro
