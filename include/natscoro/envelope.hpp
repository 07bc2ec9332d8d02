// Envelopes: how a consumer reads the event a message carries. natscoro's own
// publishers send CloudEvents; services in other languages send plain JSON or
// envelopes of their own, and a consumer reads them with the matching envelope
// (consumer_options::envelope). msg.event(), the runner, the event router, the
// dead-letter queue and the processed-id store all go through it.
#pragma once

#include <natscoro/error.hpp>
#include <natscoro/event.hpp>
#include <natscoro/header_list.hpp>
#include <natscoro/message_metadata.hpp>

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace natscoro {

/// What an envelope reads: the parts of a delivered message.
struct envelope_input {
  std::string_view subject;
  const header_list& headers;
  std::string_view body;
  const message_metadata& metadata;
};

/// Where plain_json() and raw() take the attributes the body does not carry.
struct inferred_attributes {
  /// The type is the subject without its first `type_skip_tokens` tokens
  /// ("aml.customer.created" with 1 gives "customer.created").
  std::size_t type_skip_tokens = 0;
  /// The id: this header's value (the producer's Nats-Msg-Id, the id JetStream
  /// deduplicates by) when present, else "<stream>/<stream sequence>", which is
  /// the same on every redelivery but differs if the producer publishes the same
  /// thing twice.
  std::string id_header = "Nats-Msg-Id";
  /// The source; empty: the stream's name.
  std::string source{};
};

/// Where json_mapping() finds each attribute in a custom JSON envelope: JSON
/// Pointers (RFC 6901, "/metadata/correlation_id"). Empty: not mapped. `id` and
/// `type` must lead to non-empty strings; `data` to any JSON (absent: null);
/// `time` to RFC 3339 text (not mapped or absent: the time the stream stored it).
/// Other attributes, when mapped and present, must be strings.
struct json_envelope_fields {
  std::string id = "/id";
  std::string type = "/type";
  std::string data = "/data";
  std::string time{};
  std::string source{};  ///< not mapped or absent: the stream's name
  std::string subject{};
  std::string organizationid{};
  std::string schemaversion{};
  std::string correlationid{};
  std::string causationid{};
  /// Further attributes: extension name (lower-case letters and digits) -> pointer.
  std::map<std::string, std::string> extensions{};
};

/// Reads events from messages. Cheap to copy; safe to share between threads.
class envelope {
 public:
  /// Decodes `in` into `out`; on failure returns an error (errc::invalid_event
  /// for what cannot be read) and says why in `detail`. Runs on the consumer's
  /// executor for every message: it must not block.
  using decode_function = std::function<error_code(const envelope_input& in, event& out, std::string& detail)>;

  /// CloudEvents over NATS, both modes of the protocol binding: binary when the
  /// message has a "ce-specversion" header, structured otherwise. The default.
  static envelope cloudevents();
  /// The whole body is JSON data (Python's js.publish(subject, json.dumps(x))):
  /// type, id, source and time come from `from` and the stream's metadata.
  /// A body that is not JSON is an invalid event.
  static envelope plain_json(inferred_attributes from = {});
  /// Any bytes: data is the body as a JSON string, datacontenttype the
  /// Content-Type header (else application/octet-stream); never fails to decode.
  /// Handlers usually read msg.data().
  static envelope raw(inferred_attributes from = {});
  /// A JSON object with the attributes where `fields` says, e.g. DelTran's
  /// {event_id, event_type, timestamp, source, version, data, metadata{correlation_id}}.
  /// Invalid pointers throw natscoro::error (invalid_argument) here, not per message.
  static envelope json_mapping(json_envelope_fields fields);

  /// An envelope of your own; `name` appears in logs and dead-letter reasons.
  envelope(std::string name, decode_function decode);

  const std::string& name() const { return state_->name; }
  /// Decodes, and checks what every event needs (non-empty id, type and source):
  /// a custom decode_function cannot hand the runner an event without an id.
  error_code decode(const envelope_input& in, event& out, std::string& detail) const;

 private:
  struct state {
    std::string name;
    decode_function decode;
  };
  std::shared_ptr<const state> state_;
};

}  // namespace natscoro
