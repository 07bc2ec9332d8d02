// What a delivered message holds, shared by the copies of a natscoro::message.
#pragma once

#include <natscoro/detail/api_client.hpp>
#include <natscoro/detail/nats_message.hpp>
#include <natscoro/envelope.hpp>
#include <natscoro/message.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

namespace natscoro::detail {

struct message_state {
  connection conn;
  std::shared_ptr<api_client> api;  // for ack_sync
  std::string subject;
  nats_msg_ptr msg;  // owns the data and the ack subject (its reply subject)
  message_metadata metadata;
  // Copies of a message may be acknowledged and decoded on several threads at once.
  std::atomic<bool> acknowledged{false};
  std::atomic<int> calls_this_delivery{1};                          // the runner's in-lane attempts on this delivery
  natscoro::envelope envelope = natscoro::envelope::cloudevents();  // the consumer's: how event() reads it
  std::mutex decoded_mutex;
  std::shared_ptr<const natscoro::event> decoded;  // the first successful decode, for later calls

  /// The headers, read from the nats.c message on first use: a message whose
  /// headers nobody reads costs neither nats.c's header parsing nor their copies.
  const header_list& headers();
  /// The subject acks go to.
  const char* ack_subject() const { return natsMsg_GetReply(msg.get()); }

  /// Builds the state of a delivered message; null if it has no valid ack subject.
  static std::shared_ptr<message_state> from(nats_msg_ptr msg, connection conn, std::shared_ptr<api_client> api,
                                             natscoro::envelope envelope);

 private:
  // Not std::call_once: glibc's makes a futex system call on every first call.
  std::atomic<bool> headers_read_{false};
  std::mutex headers_mutex_;
  header_list headers_;
};

/// The payload JetStream expects on the ack subject.
std::string ack_payload(ack_kind kind, std::chrono::nanoseconds delay);

}  // namespace natscoro::detail
