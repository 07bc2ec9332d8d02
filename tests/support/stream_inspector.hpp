// Reads what a stream really holds, and stores what other languages' producers
// would, through a separate raw nats.c connection with nats.c's own (blocking)
// JetStream API: independent of the code under test.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct __natsConnection;
struct __jsCtx;

namespace natscoro::test {

class stream_inspector {
 public:
  explicit stream_inspector(const std::string& url, const std::string& user = {}, const std::string& password = {});
  ~stream_inspector();
  stream_inspector(const stream_inspector&) = delete;
  stream_inspector& operator=(const stream_inspector&) = delete;

  struct state {
    std::uint64_t messages = 0;
    std::uint64_t first_sequence = 0;
    std::uint64_t last_sequence = 0;
  };
  /// The stream's state; empty if it does not exist.
  std::optional<state> stream(const std::string& name);
  /// The name of the node leading a clustered stream; empty while it has none (or no answer).
  std::string leader(const std::string& name);

  struct stored_message {
    std::string subject;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string data;
    std::string header(const std::string& name) const;
  };
  struct consumer_state {
    std::uint64_t ack_pending = 0;  ///< delivered, not acknowledged
    std::uint64_t pending = 0;      ///< not delivered yet
    std::uint64_t redelivered = 0;
  };
  std::optional<consumer_state> consumer(const std::string& stream, const std::string& name);
  bool delete_stream(const std::string& name);

  /// The Nats-Msg-Id of every message in `stream`, with how often it is there.
  std::map<std::string, int> message_ids(const std::string& stream);

  /// Stores a message the way the seeds' Python, Go and Rust services do: plain
  /// nats.c js_PublishMsg, no natscoro. Returns the stream sequence; throws on failure.
  std::uint64_t publish(const std::string& subject, const std::string& data,
                        const std::vector<std::pair<std::string, std::string>>& headers = {});

  /// The message at `sequence`; empty if there is none.
  std::optional<stored_message> message(const std::string& stream, std::uint64_t sequence);

 private:
  __natsConnection* nc_ = nullptr;
  __jsCtx* js_ = nullptr;
};

}  // namespace natscoro::test
