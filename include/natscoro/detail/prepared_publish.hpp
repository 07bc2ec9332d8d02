// A publish checked and encoded by the publisher (what publish() sends, and what
// the outbox stores), or the reason it cannot be sent.
#pragma once

#include <natscoro/detail/envelope_codec.hpp>

#include <string>

namespace natscoro::detail {

struct prepared_publish {
  error_code error;
  std::string detail;
  std::string subject;
  std::string event_id;
  encoded_event encoded;  ///< headers (Nats-Msg-Id included) and body
};

}  // namespace natscoro::detail
