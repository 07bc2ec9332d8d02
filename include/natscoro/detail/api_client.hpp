// Asynchronous JetStream API requests ("$JS.API.<...>") over one reply inbox.
// Called from any thread (the requests go out from the connection's strand); each request has its own timeout.
#pragma once

#include <natscoro/connection.hpp>
#include <natscoro/detail/pending_operation.hpp>
#include <natscoro/detail/reply_inbox.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>
#include <unordered_map>

namespace natscoro::detail {

class api_client : public std::enable_shared_from_this<api_client> {
 public:
  using operation = pending_operation<void(error_code, boost::json::value)>;
  using raw_operation = pending_operation<void(error_code, std::string)>;

  api_client(connection conn, std::string prefix, std::chrono::milliseconds timeout);

  /// Sends `payload` to "<prefix>.<api>.<names...>" (e.g. `request("CONSUMER.INFO",
  /// {stream, consumer}, ...)`); completes with the reply's JSON. A reply carrying an
  /// "error" completes with that error (jetstream_category) and the reply itself, so
  /// the caller can read the server's description.
  /// This is where every stream and consumer name is checked before it reaches the
  /// wire: a name that is not valid_name() completes with errc::invalid_argument
  /// (logged, naming it) and nothing is sent.
  void request(std::string_view api, std::initializer_list<std::string_view> names, std::string payload,
               operation::handler_type handler);

  /// Sends `payload` to `subject` and completes with the reply's body as it is
  /// (e.g. the empty confirmation of a double ack). No responders: nats_errc::no_responders.
  /// A subject that is not valid_publish_subject() completes with errc::invalid_subject.
  void request_raw(const std::string& subject, std::string_view payload, raw_operation::handler_type handler);

 private:
  struct pending {
    std::shared_ptr<raw_operation> op;
    boost::asio::steady_timer timer;
    std::string subject;
  };

  void send(const std::shared_ptr<raw_operation>& op, const std::string& subject,
            const std::string& payload);  // on the strand
  void on_reply(std::uint64_t token, nats_msg_ptr msg);
  void finish(std::uint64_t token, error_code ec, std::string body);

  connection conn_;
  std::string prefix_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<reply_inbox> inbox_;
  std::uint64_t next_token_ = 1;
  std::unordered_map<std::uint64_t, std::unique_ptr<pending>> pending_;
};

}  // namespace natscoro::detail
