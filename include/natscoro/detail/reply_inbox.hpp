// One wildcard inbox subscription ("_INBOX.<nuid>.*") that receives the replies
// to many requests, each told apart by a numeric token (from 1) in the last
// subject token. Messages that come under another subject (JetStream delivers
// pulled messages under their own subject) are passed on with token 0.
//
// nats.c delivers on its shared delivery pool; the inbox only hands the replies
// over to the executor (in batches: one post for all that arrived meanwhile),
// where `on_reply(token, msg)` runs while the inbox is alive. Replies only come
// for requests the owner sent, so what waits for the executor is bounded by the
// owner's own window.
#pragma once

#include <natscoro/connection.hpp>
#include <natscoro/detail/nats_message.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace natscoro::detail {

class reply_inbox {
 public:
  using reply_handler = std::function<void(std::uint64_t token, nats_msg_ptr msg)>;

  /// Subscribes; `on_reply` runs on `ex`. Returns null and sets `ec` on failure.
  static std::shared_ptr<reply_inbox> open(const connection& conn, const boost::asio::any_io_executor& ex,
                                           reply_handler on_reply, error_code& ec);
  ~reply_inbox();
  reply_inbox(const reply_inbox&) = delete;
  reply_inbox& operator=(const reply_inbox&) = delete;

  /// The reply subject for `token`.
  std::string reply_subject(std::uint64_t token) const { return prefix_ + std::to_string(token); }

  /// Unsubscribes and confirms it with the server (a ping round trip, at most
  /// `limit`); what the server sent before that still reaches `on_reply`, and
  /// then `on_drained` runs on the executor. After it, the server sends nothing
  /// more here: a JetStream pull request addressed to this inbox is dropped by
  /// the server as having no interest. On failure `on_drained` runs at once.
  void drain(std::chrono::milliseconds limit, std::function<void()> on_drained);

 private:
  struct router;
  struct completion;
  struct mailbox;
  reply_inbox() = default;

  std::string prefix_;  ///< "_INBOX.<nuid>."
  natsSubscription* sub_ = nullptr;
  std::shared_ptr<completion> completion_;
  reply_handler on_reply_;
};

}  // namespace natscoro::detail
