// The processed-id store behind run_options::processed_ids: a JetStream key-value
// bucket read with STREAM.MSG.GET (last message of the key's subject) and written
// with a verified publish. nats.c's kvStore calls block the calling thread; these
// complete on the connection's executor.
#pragma once

#include <natscoro/jetstream.hpp>
#include <natscoro/publisher.hpp>
#include <natscoro/runner.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace natscoro::detail {

/// Whether `bucket` can name a key-value bucket: letters, digits, '-' and '_'.
bool valid_bucket_name(std::string_view bucket);

/// The key of `event_id` for `consumer`: "<consumer>.r.<id>" when the id is made of
/// letters, digits, '-' and '_' (UUIDs), else "<consumer>.b.<base64url of the id>":
/// whatever a producer chose as id, the key is one valid subject token. Empty for an
/// id over 256 bytes (not stored: the event is handled as without a store).
std::string processed_id_key(std::string_view consumer, std::string_view event_id);

/// The bucket's stream, configured as nats.c's js_CreateKeyValue would: history 1,
/// max_age = ttl, rollups allowed, deletes denied, discard new.
stream_config processed_id_bucket_config(const processed_id_options& opts);

class processed_id_store {
 public:
  processed_id_store(const jetstream& js, processed_id_options opts, std::string consumer);

  /// Creates the bucket if it is missing.
  void start(std::function<void(error_code)> done);
  /// Whether `event_id` was recorded (within the ttl). Errors: the JetStream API's.
  void seen(const std::string& event_id, std::function<void(error_code, bool)> done);
  /// Records `event_id` (the value says where it was handled, for operators);
  /// completes on the PubAck. Errors: the publisher's.
  void record(const std::string& event_id, const std::string& handled_at, std::function<void(error_code)> done);

 private:
  std::optional<std::string> subject_of(const std::string& event_id) const;

  jetstream js_;
  processed_id_options opts_;
  std::string consumer_;
  std::shared_ptr<publisher> writer_;
};

}  // namespace natscoro::detail
