#include <natscoro/detail/pull_protocol.hpp>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace natscoro::detail {
namespace {

// After a refusal that names no end (409 max ack pending, leadership change and the like).
constexpr auto refusal_pause = std::chrono::milliseconds(500);

}  // namespace

pull_protocol::pull_protocol(settings s) : settings_(s), credits_(s.capacity), watchdog_(s.idle_heartbeat) {}

std::optional<pull_protocol::request> pull_protocol::next_request(clock::time_point now) {
  if (phase_ != phase::running || !pulling_ || now < paused_until_) return std::nullopt;
  const std::size_t batch = credits_.request_size();
  if (batch == 0) return std::nullopt;
  if (credits_.outstanding() == 0) watchdog_.on_activity(now);  // silence counts from the first open request
  // The server ends the request at `expires` with a 408; a little later it is forgotten here anyway.
  const std::uint64_t id = credits_.on_request_sent(batch, now + settings_.pull_expiry + settings_.idle_heartbeat);
  boost::json::object body;
  body["batch"] = batch;
  body["expires"] = std::chrono::nanoseconds(settings_.pull_expiry).count();
  body["idle_heartbeat"] = std::chrono::nanoseconds(settings_.idle_heartbeat).count();
  return request{id, boost::json::serialize(body)};
}

pull_protocol::arrival pull_protocol::on_delivery(clock::time_point now) {
  watchdog_.on_activity(now);
  return credits_.on_message() ? arrival::hold : arrival::give_back_later;
}

pull_protocol::status_action pull_protocol::on_status(std::uint64_t id, std::string_view status,
                                                      std::string_view description, clock::time_point now) {
  using kind = status_action::kind;
  if (status == "100") return {};  // idle heartbeat: the request is alive
  credits_.on_request_ended(id);
  if (status == "404" || status == "408") return {kind::pull, {}, {}};  // no messages / the request expired
  if (status == "409" && description.find("Consumer Deleted") != std::string_view::npos)
    return {kind::fail, make_error_code(jetstream_errc::consumer_not_found), "the consumer was deleted"};
  if (status == "409" && description.find("push based") != std::string_view::npos)
    return {kind::fail, make_error_code(errc::invalid_argument), "the consumer is push based, not a pull consumer"};
  paused_until_ = now + refusal_pause;
  if (status == "503") return {kind::check_consumer, {}, {}};
  return {kind::pause, {}, std::string(status) + " " + std::string(description)};
}

bool pull_protocol::on_tick(clock::time_point now) {
  credits_.expire(now);
  if (credits_.outstanding() == 0 || !watchdog_.expired(now)) return false;
  credits_.reset();
  return true;
}

bool pull_protocol::begin_drain() noexcept {
  if (phase_ != phase::running) return false;
  phase_ = phase::draining;
  return true;
}

bool pull_protocol::stop() noexcept {
  if (phase_ == phase::stopped) return false;
  phase_ = phase::stopped;
  return true;
}

std::optional<pull_protocol::held_goes> pull_protocol::on_unsubscribed() noexcept {
  if (unsubscribed_) return std::nullopt;
  unsubscribed_ = true;
  // (One that attaches later takes what is held as it attaches.)
  if (participant_ != participant::waiting_for_held) return held_goes::back;
  participant_ = participant::served;
  return held_goes::to_participant;
}

bool pull_protocol::attach_participant(bool* held_now) noexcept {
  if (participant_ != participant::none) return false;
  *held_now = unsubscribed_;
  participant_ = unsubscribed_ ? participant::served : participant::waiting_for_held;
  return true;
}

pull_protocol::drain_step pull_protocol::next_drain_step() const noexcept {
  if (phase_ == phase::draining && unsubscribed_) return drain_step::stop;
  if (phase_ == phase::stopped && participant_ == participant::none) return drain_step::complete;
  return drain_step::none;
}

}  // namespace natscoro::detail
