#include <natscoro/detail/access.hpp>
#include <natscoro/detail/api_client.hpp>
#include <natscoro/detail/dead_letter_writer.hpp>
#include <natscoro/detail/processed_id_store.hpp>
#include <natscoro/detail/stored_message.hpp>
#include <natscoro/logging.hpp>

#include <boost/beast/core/detail/base64.hpp>
#include <boost/json.hpp>

#include <algorithm>

namespace natscoro::detail {
namespace {

constexpr std::size_t max_id_size = 256;

bool token_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool plain_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), token_character);
}

std::string base64url(std::string_view bytes) {
  namespace base64 = boost::beast::detail::base64;
  std::string out(base64::encoded_size(bytes.size()), '\0');
  out.resize(base64::encode(out.data(), bytes.data(), bytes.size()));
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  out.erase(std::find(out.begin(), out.end(), '='), out.end());
  return out;
}

}  // namespace

bool valid_bucket_name(std::string_view bucket) { return plain_token(bucket); }

std::string processed_id_key(std::string_view consumer, std::string_view event_id) {
  if (event_id.empty() || event_id.size() > max_id_size) return {};
  if (plain_token(event_id)) return std::string(consumer) + ".r." + std::string(event_id);
  return std::string(consumer) + ".b." + base64url(event_id);
}

stream_config processed_id_bucket_config(const processed_id_options& opts) {
  stream_config cfg;
  cfg.name = "KV_" + opts.bucket;
  cfg.subjects = {"$KV." + opts.bucket + ".>"};
  cfg.description = "natscoro processed event ids";
  cfg.max_msgs_per_subject = 1;
  cfg.max_age = opts.ttl;
  cfg.discard = discard_policy::new_messages;
  cfg.allow_rollup = true;
  cfg.deny_delete = true;
  cfg.replicas = opts.replicas;
  cfg.duplicate_window = std::min<std::chrono::nanoseconds>(opts.ttl, std::chrono::minutes(2));
  return cfg;
}

processed_id_store::processed_id_store(const jetstream& js, processed_id_options opts, std::string consumer)
    : js_(js), opts_(std::move(opts)), consumer_(std::move(consumer)) {
  publisher_options popts;
  popts.require_organization = false;
  popts.max_in_flight = 1024;  // at most one per running handler: the runner bounds it
  popts.ack_timeout = std::chrono::seconds(2);
  popts.retry = retry_policy{3, {std::chrono::milliseconds(250), std::chrono::milliseconds(500)}};
  writer_ = std::make_shared<publisher>(js_, popts);
}

void processed_id_store::start(std::function<void(error_code)> done) {
  create_stream_if_missing(js_, processed_id_bucket_config(opts_), std::move(done));
}

std::optional<std::string> processed_id_store::subject_of(const std::string& event_id) const {
  auto key = processed_id_key(consumer_, event_id);
  if (key.empty()) return std::nullopt;
  return "$KV." + opts_.bucket + "." + key;
}

void processed_id_store::seen(const std::string& event_id, std::function<void(error_code, bool)> done) {
  const auto subject = subject_of(event_id);
  if (!subject) return done(make_error_code(errc::invalid_argument), false);
  boost::json::object body{{"last_by_subj", *subject}};
  access::api(js_)->request("STREAM.MSG.GET", {"KV_" + opts_.bucket}, boost::json::serialize(body),
                            [done = std::move(done)](error_code ec, const boost::json::value& reply) {
                              if (ec == jetstream_errc::no_message_found) return done({}, false);
                              if (ec) return done(ec, false);
                              // An operator's `nats kv del` leaves a marker: the id counts as not processed.
                              stored_message m;
                              std::string detail;
                              if (auto bad = parse_stored_message(reply, m, detail)) return done(bad, false);
                              const auto* op = find_header(m.headers, "KV-Operation");
                              done({}, op == nullptr || *op == "PUT");
                            });
}

void processed_id_store::record(const std::string& event_id, const std::string& handled_at,
                                std::function<void(error_code)> done) {
  const auto subject = subject_of(event_id);
  if (!subject) return done(make_error_code(errc::invalid_argument));
  writer_->publish_raw(raw_message{.subject = *subject, .data = handled_at},
                       [done = std::move(done)](error_code ec, const pub_ack&) { done(ec); });
}

}  // namespace natscoro::detail
