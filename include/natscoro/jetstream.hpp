// JetStream: the API of streams, and the handle publishers and consumers start from.
#pragma once

#include <natscoro/connection.hpp>
#include <natscoro/consumer.hpp>
#include <natscoro/consumer_config.hpp>
#include <natscoro/diagnostics.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace natscoro {

/// What the server stored: the proof a publish is safe.
struct pub_ack {
  std::string stream{};
  std::uint64_t sequence = 0;
  bool duplicate = false;  ///< the stream had the event id already (within its duplicate window)
  std::string domain{};
};

enum class retention_policy { limits, interest, work_queue };
enum class storage_type { file, memory };
enum class discard_policy { old_messages, new_messages };

struct stream_config {
  std::string name{};
  std::vector<std::string> subjects{};
  std::string description{};
  retention_policy retention = retention_policy::limits;
  storage_type storage = storage_type::file;
  std::chrono::nanoseconds max_age{0};  ///< 0: unlimited
  std::int64_t max_bytes = -1;          ///< -1: unlimited
  std::int64_t max_msgs = -1;
  std::int32_t max_msg_size = -1;
  std::int64_t max_msgs_per_subject = -1;
  discard_policy discard = discard_policy::old_messages;
  int replicas = 1;
  std::chrono::nanoseconds duplicate_window{std::chrono::minutes(2)};
  bool allow_rollup = false;  ///< Nats-Rollup headers may purge a subject or the stream
  bool deny_delete = false;   ///< messages cannot be deleted through the API (cannot be undone)
  bool deny_purge = false;    ///< the stream cannot be purged through the API (cannot be undone)
};

enum class ensure_result { created, updated, unchanged };

struct stream_state {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::uint64_t first_sequence = 0;
  std::uint64_t last_sequence = 0;
  std::uint64_t consumers = 0;
};

struct stream_info {
  stream_config config;
  stream_state state;
};

/// What purge_stream() removes: everything, or only `subject`, and only below
/// sequence `up_to_sequence` (0: no bound).
struct purge_options {
  std::string subject{};
  std::uint64_t up_to_sequence = 0;
};

struct consumer_info {
  std::string stream;
  std::string name;
  consumer_config config;
  std::uint64_t num_pending = 0;      ///< not delivered yet
  std::uint64_t num_ack_pending = 0;  ///< delivered, not acknowledged
  std::uint64_t num_redelivered = 0;
  std::uint64_t num_waiting = 0;  ///< open pull requests
  std::uint64_t ack_floor_stream_sequence = 0;
  std::uint64_t delivered_consumer_sequence = 0;  ///< deliveries the server has made (the last one's number)
};

namespace detail {
class api_client;
struct access;
}  // namespace detail

/// The JetStream context of a connection. Cheap to copy; safe from any thread.
class jetstream {
 public:
  struct options {
    std::string api_prefix = "$JS.API";
    std::chrono::milliseconds timeout{5000};  ///< per API request
  };

  explicit jetstream(connection conn);
  jetstream(connection conn, options opts);

  const connection& conn() const noexcept { return conn_; }
  const options& opts() const noexcept { return opts_; }
  boost::asio::any_io_executor get_executor() const { return conn_.get_executor(); }

  /// Creates the stream if it is missing, updates it if it differs, or leaves it.
  ///
  /// Waits for: the JetStream API replies (stream info, then create or update if needed).
  /// Completion: `void(error_code, ensure_result)`: created, updated or unchanged.
  /// Errors: errc::config_mismatch when it differs in what the server cannot change
  ///   (storage, retention, deny_delete/deny_purge once set; the log lists every
  ///   differing field with the server's value and ours), jetstream_errc::subjects_overlap,
  ///   errc::invalid_argument (bad name), nats_errc::timeout (no reply),
  ///   nats_errc::no_responders (JetStream not enabled on the server), errc::not_connected.
  /// Cancellation: terminal only: completes with operation_aborted at once; what
  ///   was sent may still take effect on the server. Partial and total are ignored.
  template <class CompletionToken = natscoro::default_token_t>
  auto ensure_stream(const stream_config& cfg, CompletionToken&& token = {}) const {
    return boost::asio::async_initiate<CompletionToken, void(error_code, ensure_result)>(
        [](auto handler, jetstream self, stream_config c) {
          self.async_ensure_stream(std::move(c), std::move(handler));
        },
        token, *this, cfg);
  }

  /// Binds to the durable pull consumer `cfg.durable` on `stream`, creating it if missing.
  /// An empty `cfg.durable` is refused (errc::invalid_argument): see ephemeral_consumer().
  ///
  /// Waits for: the consumer's info (and its creation or update), then the
  ///   subscription for its messages; pulling starts with the first next().
  /// Completion: `void(error_code, natscoro::consumer)`.
  /// Errors: errc::config_mismatch when the consumer exists with another
  ///   configuration (the log lists each field, server's value and ours; with
  ///   opts.update the fields the server can change are updated instead),
  ///   jetstream_errc::stream_not_found, errc::invalid_argument (bad names),
  ///   nats_errc::timeout, errc::not_connected.
  /// Cancellation: terminal only: completes with operation_aborted at once; the
  ///   consumer may still be created (a handle that arrives later is dropped).
  /// Closing the client never deletes a durable consumer.
  template <boost::asio::completion_token_for<void(error_code, natscoro::consumer)> CompletionToken =
                natscoro::default_token_t>
  auto consumer(const std::string& stream, const consumer_config& cfg, const consumer_options& opts,
                CompletionToken&& token = {}) const {
    return boost::asio::async_initiate<CompletionToken, void(error_code, natscoro::consumer)>(
        [](auto handler, jetstream self, std::string s, consumer_config c, consumer_options o) {
          self.async_consumer(std::move(s), std::move(c), std::move(o), false, std::move(handler));
        },
        token, *this, stream, cfg, opts);
  }
  template <boost::asio::completion_token_for<void(error_code, natscoro::consumer)> CompletionToken =
                natscoro::default_token_t>
  auto consumer(const std::string& stream, const consumer_config& cfg, CompletionToken&& token = {}) const {
    return consumer(stream, cfg, consumer_options{}, std::forward<CompletionToken>(token));
  }

  /// Creates an ephemeral pull consumer on `stream` (the server names it; see
  /// consumer::name()) and binds to it. `cfg.durable` must be empty. The server
  /// removes it after `cfg.inactive_threshold` without a pull (set one), or when
  /// deleted; the last handle going does not delete it.
  /// Waits for: the creation, then the subscription. Completion: `void(error_code,
  ///   natscoro::consumer)`. Errors: errc::invalid_argument (a durable name given, bad
  ///   names), jetstream_errc::stream_not_found, nats_errc::timeout, errc::not_connected.
  /// Cancellation: terminal only, as consumer().
  template <boost::asio::completion_token_for<void(error_code, natscoro::consumer)> CompletionToken =
                natscoro::default_token_t>
  auto ephemeral_consumer(const std::string& stream, const consumer_config& cfg, const consumer_options& opts,
                          CompletionToken&& token = {}) const {
    return boost::asio::async_initiate<CompletionToken, void(error_code, natscoro::consumer)>(
        [](auto handler, jetstream self, std::string s, consumer_config c, consumer_options o) {
          self.async_consumer(std::move(s), std::move(c), std::move(o), true, std::move(handler));
        },
        token, *this, stream, cfg, opts);
  }

  // Stream and consumer management. Each waits for the JetStream API's reply (bounded
  // by options::timeout), and fails with the server's error (jetstream_errc::stream_not_found,
  // consumer_not_found, ...), nats_errc::timeout, nats_errc::no_responders (JetStream
  // not enabled) or errc::not_connected. Cancellation: terminal only (operation_aborted
  // at once; the request was sent and may still take effect); partial and total are ignored.

  /// Completion: `void(error_code, stream_info)`.
  template <class CompletionToken = natscoro::default_token_t>
  auto stream_info(std::string name, CompletionToken&& token = {}) const {
    return initiate<void(error_code, natscoro::stream_info)>(
        token, [name](const jetstream& js, auto h) { js.async_stream_info(name, std::move(h)); });
  }
  /// Deletes the stream and its messages. Completion: `void(error_code)`.
  template <class CompletionToken = natscoro::default_token_t>
  auto delete_stream(std::string name, CompletionToken&& token = {}) const {
    return initiate<void(error_code)>(
        token, [name](const jetstream& js, auto h) { js.async_delete_stream(name, std::move(h)); });
  }
  /// Removes messages (see purge_options). Completion: `void(error_code, std::uint64_t purged)`.
  template <class CompletionToken = natscoro::default_token_t>
  auto purge_stream(std::string name, purge_options what = {}, CompletionToken&& token = {}) const {
    return initiate<void(error_code, std::uint64_t)>(
        token, [name, what](const jetstream& js, auto h) { js.async_purge_stream(name, what, std::move(h)); });
  }
  /// The names of all streams, sorted. Completion: `void(error_code, std::vector<std::string>)`.
  template <class CompletionToken = natscoro::default_token_t>
  auto list_streams(CompletionToken&& token = {}) const {
    return initiate<void(error_code, std::vector<std::string>)>(token, [](const jetstream& js, auto h) {
      js.async_list_names("STREAM.NAMES", std::nullopt, "streams", std::move(h));
    });
  }
  /// Creates the durable consumer `cfg.durable` on `stream`, updates what the server
  /// can change, or leaves it. Completion: `void(error_code, ensure_result)`.
  /// Errors also: errc::config_mismatch when a field the server cannot change differs (logged).
  template <class CompletionToken = natscoro::default_token_t>
  auto ensure_consumer(std::string stream, consumer_config cfg, CompletionToken&& token = {}) const {
    return initiate<void(error_code, ensure_result)>(
        token, [stream, cfg](const jetstream& js, auto h) { js.async_ensure_consumer(stream, cfg, std::move(h)); });
  }
  /// Completion: `void(error_code, consumer_info)`.
  template <class CompletionToken = natscoro::default_token_t>
  auto consumer_info(std::string stream, std::string name, CompletionToken&& token = {}) const {
    return initiate<void(error_code, natscoro::consumer_info)>(
        token, [stream, name](const jetstream& js, auto h) { js.async_consumer_info(stream, name, std::move(h)); });
  }
  /// Completion: `void(error_code)`.
  template <class CompletionToken = natscoro::default_token_t>
  auto delete_consumer(std::string stream, std::string name, CompletionToken&& token = {}) const {
    return initiate<void(error_code)>(
        token, [stream, name](const jetstream& js, auto h) { js.async_delete_consumer(stream, name, std::move(h)); });
  }
  /// The names of the consumers of `stream`, sorted. Completion: `void(error_code, std::vector<std::string>)`.
  template <class CompletionToken = natscoro::default_token_t>
  auto list_consumers(std::string stream, CompletionToken&& token = {}) const {
    return initiate<void(error_code, std::vector<std::string>)>(token, [stream](const jetstream& js, auto h) {
      js.async_list_names("CONSUMER.NAMES", stream, "consumers", std::move(h));
    });
  }

 private:
  friend struct detail::access;

  // async_initiate with `fn(*this, any_completion_handler<Signature>)` as the initiation.
  template <class Signature, class CompletionToken, class Fn>
  auto initiate(CompletionToken&& token, Fn fn) const {
    return boost::asio::async_initiate<CompletionToken, Signature>(
        [](auto handler, jetstream self, Fn f) {
          f(self, boost::asio::any_completion_handler<Signature>(std::move(handler)));
        },
        token, *this, std::move(fn));
  }
  void async_stream_info(const std::string& name,
                         boost::asio::any_completion_handler<void(error_code, natscoro::stream_info)> h) const;
  void async_delete_stream(const std::string& name, boost::asio::any_completion_handler<void(error_code)> h) const;
  void async_purge_stream(const std::string& name, const purge_options& what,
                          boost::asio::any_completion_handler<void(error_code, std::uint64_t)> h) const;
  void async_list_names(const char* request, std::optional<std::string> stream, const char* field,
                        boost::asio::any_completion_handler<void(error_code, std::vector<std::string>)> h) const;
  void async_ensure_consumer(const std::string& stream, const consumer_config& cfg,
                             boost::asio::any_completion_handler<void(error_code, ensure_result)> h) const;
  void async_consumer_info(const std::string& stream, const std::string& name,
                           boost::asio::any_completion_handler<void(error_code, natscoro::consumer_info)> h) const;
  void async_delete_consumer(const std::string& stream, const std::string& name,
                             boost::asio::any_completion_handler<void(error_code)> h) const;
  /// Info, then create or update as needed; `done(ec, result, bound name, server reply)`,
  /// where on error the name is instead what went wrong (logged already).
  void ensure_consumer_then(const std::string& stream, const consumer_config& cfg, bool update,
                            std::function<void(error_code, ensure_result, std::string, boost::json::value)> done) const;
  void async_ensure_stream(stream_config cfg,
                           boost::asio::any_completion_handler<void(error_code, ensure_result)> h) const;
  void async_consumer(std::string stream, consumer_config cfg, consumer_options opts, bool ephemeral,
                      boost::asio::any_completion_handler<void(error_code, natscoro::consumer)> h) const;

  connection conn_;
  options opts_;
  std::shared_ptr<detail::api_client> api_;
};

}  // namespace natscoro
