// What JetStream says about a delivered message, read from its ack reply subject.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace natscoro {

struct message_metadata {
  std::string stream;
  std::string consumer;
  std::string domain;  ///< empty without a JetStream domain
  std::uint64_t stream_sequence = 0;
  std::uint64_t consumer_sequence = 0;
  std::uint64_t num_delivered = 0;                    ///< 1 on the first delivery
  std::uint64_t num_pending = 0;                      ///< messages left for the consumer after this one
  std::chrono::system_clock::time_point timestamp{};  ///< when the stream stored it

  /// Parses "$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<time>.<pending>" and the
  /// newer "$JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<time>.<pending>[.<token>]".
  static std::optional<message_metadata> parse(std::string_view ack_subject);
};

}  // namespace natscoro
