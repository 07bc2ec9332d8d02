// JetStream: the API of streams, and the handle publishers and consumers start from.
#pragma once

#include <natscoro/connection.hpp>
#include <natscoro/consumer.hpp>
#include <natscoro/consumer_config.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
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
  discard_policy discard = discard_policy::old_messages;
  int replicas = 1;
  std::chrono::nanoseconds duplicate_window{std::chrono::minutes(2)};
};

enum class ensure_result { created, updated, unchanged };

namespace detail {
class api_client;
}

/// The JetStream context of a connection. Cheap to copy; use it from the connection's strand.
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

  /// Creates the stream if it is missing, and accepts it if it exists with the same subjects.
  ///
  /// Waits for: the JetStream API replies (stream info, then create if needed).
  /// Completion: `void(error_code, ensure_result)`.
  /// Errors: jetstream_errc::stream_name_in_use when it exists with other subjects
  ///   (the log lists both), jetstream_errc::subjects_overlap, errc::invalid_argument
  ///   (bad name), nats_errc::timeout (no reply), nats_errc::no_responders
  ///   (JetStream not enabled on the server), errc::not_connected.
  /// Cancellation: none (bounded by options::timeout per request).
  template <class CompletionToken = boost::asio::deferred_t>
  auto ensure_stream(const stream_config& cfg, CompletionToken&& token = {}) const {
    return boost::asio::async_initiate<CompletionToken, void(error_code, ensure_result)>(
        [](auto handler, jetstream self, stream_config c) { self.async_ensure_stream(std::move(c), std::move(handler)); },
        token, *this, cfg);
  }

  /// Binds to the durable pull consumer `cfg.durable` on `stream`, creating it if missing.
  ///
  /// Waits for: the consumer's info (and its creation or update), then the
  ///   subscription for its messages; pulling starts with the first next().
  /// Completion: `void(error_code, natscoro::consumer)`.
  /// Errors: errc::config_mismatch when the consumer exists with another
  ///   configuration (the log lists each field, server's value and ours; with
  ///   opts.update the fields the server can change are updated instead),
  ///   jetstream_errc::stream_not_found, errc::invalid_argument (bad names),
  ///   nats_errc::timeout, errc::not_connected.
  /// Cancellation: none (bounded by options::timeout per request).
  /// Closing the client never deletes a durable consumer.
  template <boost::asio::completion_token_for<void(error_code, natscoro::consumer)> CompletionToken =
                boost::asio::deferred_t>
  auto consumer(const std::string& stream, const consumer_config& cfg, const consumer_options& opts,
                CompletionToken&& token = {}) const {
    return boost::asio::async_initiate<CompletionToken, void(error_code, natscoro::consumer)>(
        [](auto handler, jetstream self, std::string s, consumer_config c, consumer_options o) {
          self.async_consumer(std::move(s), std::move(c), std::move(o), std::move(handler));
        },
        token, *this, stream, cfg, opts);
  }
  template <boost::asio::completion_token_for<void(error_code, natscoro::consumer)> CompletionToken =
                boost::asio::deferred_t>
  auto consumer(const std::string& stream, const consumer_config& cfg, CompletionToken&& token = {}) const {
    return consumer(stream, cfg, consumer_options{}, std::forward<CompletionToken>(token));
  }

  /// For natscoro's own types: the API client of this context.
  const std::shared_ptr<detail::api_client>& api() const { return api_; }

 private:
  void async_ensure_stream(stream_config cfg,
                           boost::asio::any_completion_handler<void(error_code, ensure_result)> h) const;
  void async_consumer(std::string stream, consumer_config cfg, consumer_options opts,
                      boost::asio::any_completion_handler<void(error_code, natscoro::consumer)> h) const;

  connection conn_;
  options opts_;
  std::shared_ptr<detail::api_client> api_;
};

}  // namespace natscoro
