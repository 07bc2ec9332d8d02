#include <natscoro/detail/access.hpp>
#include <natscoro/detail/message_state.hpp>
#include <natscoro/detail/pending_operation.hpp>
#include <natscoro/detail/wire.hpp>
#include <natscoro/message.hpp>

#include <boost/asio/system_executor.hpp>

#include <algorithm>
#include <cctype>

namespace natscoro {
namespace detail {

std::shared_ptr<message_state> message_state::from(nats_msg_ptr msg, connection conn, std::shared_ptr<api_client> api,
                                                   natscoro::envelope envelope) {
  const char* reply = natsMsg_GetReply(msg.get());
  if (reply == nullptr) return nullptr;
  auto md = message_metadata::parse(reply);
  if (!md) return nullptr;
  auto s = std::make_shared<message_state>();
  s->envelope = std::move(envelope);
  s->conn = std::move(conn);
  s->api = std::move(api);
  s->subject = natsMsg_GetSubject(msg.get());
  s->metadata = std::move(*md);
  s->msg = std::move(msg);
  return s;
}

const header_list& message_state::headers() {
  if (headers_read_.load(std::memory_order_acquire)) return headers_;
  std::lock_guard lock(headers_mutex_);
  if (!headers_read_.load(std::memory_order_relaxed)) {
    headers_ = message_headers(msg.get());
    headers_read_.store(true, std::memory_order_release);
  }
  return headers_;
}

std::string ack_payload(ack_kind kind, std::chrono::nanoseconds delay) {
  switch (kind) {
    case ack_kind::ack:
      return "+ACK";
    case ack_kind::nak:
      return delay.count() > 0 ? "-NAK {\"delay\": " + std::to_string(delay.count()) + "}" : "-NAK";
    case ack_kind::term:
      return "+TERM";
    case ack_kind::in_progress:
      return "+WPI";
  }
  return "+ACK";
}

}  // namespace detail

const std::string& message::subject() const { return state_->subject; }
const header_list& message::headers() const { return state_->headers(); }
std::string_view message::data() const { return detail::message_data(state_->msg.get()); }
const message_metadata& message::metadata() const { return state_->metadata; }
bool message::acknowledged() const { return state_->acknowledged; }
int message::attempt() const {
  return static_cast<int>(state_->metadata.num_delivered) - 1 + state_->calls_this_delivery;
}

std::string message::header(std::string_view name) const {
  for (const auto& [k, v] : state_->headers())
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        }))
      return v;
  return {};
}

error_code message::decode(natscoro::event& out, std::string& detail) const {
  error_code ec;
  if (const auto decoded = detail::decoded_event(*this, ec, detail)) out = *decoded;
  return ec;
}

natscoro::event message::event() const {
  natscoro::event e;
  std::string detail;
  if (auto ec = decode(e, detail))
    throw error(
        ec, "message " + std::to_string(state_->metadata.stream_sequence) + " on " + state_->subject + ": " + detail);
  return e;
}

namespace detail {
void set_calls_this_delivery(const message& m, int calls) { m.state_->calls_this_delivery = calls; }

std::shared_ptr<const natscoro::event> decoded_event(const message& m, error_code& ec, std::string& detail) {
  auto& state = *m.state_;
  {
    std::lock_guard lock(state.decoded_mutex);
    if (state.decoded) return state.decoded;
  }
  auto fresh = std::make_shared<natscoro::event>();
  const envelope_input in{state.subject, state.headers(), m.data(), state.metadata};
  if ((ec = state.envelope.decode(in, *fresh, detail))) {
    detail = "not a " + state.envelope.name() + " event: " + detail;
    return nullptr;
  }
  std::lock_guard lock(state.decoded_mutex);
  if (!state.decoded) state.decoded = std::move(fresh);  // another thread's equal decode may have come first
  return state.decoded;
}
}  // namespace detail

error_code message::settle_now(ack_kind kind, std::chrono::nanoseconds delay) const noexcept {
  auto& state = *state_;
  const bool terminal = kind != ack_kind::in_progress;
  // Claimed before sending: of two threads settling one message, one sends.
  if (terminal && state.acknowledged.exchange(true)) return {};  // settled already: harmless
  natsStatus s = NATS_OK;
  try {
    s = detail::wire_of(state.conn).publish(state.ack_subject(), detail::ack_payload(kind, delay));
  } catch (const std::bad_alloc&) {  // the payload's string: reported as nats.c would
    s = NATS_NO_MEMORY;
  }
  if (s == NATS_OK) return {};
  if (terminal) state.acknowledged = false;  // not sent: it may be settled again
  const bool no_link = s == NATS_CONNECTION_CLOSED || s == detail::wire::link_down;
  return no_link ? make_error_code(errc::not_connected) : nats_error(s);
}

void message::settle(ack_kind kind, std::chrono::nanoseconds delay) const {
  static constexpr const char* names[] = {"ack", "nak", "term", "in_progress"};
  if (const auto ec = settle_now(kind, delay))
    throw error(ec, std::string(names[static_cast<int>(kind)]) + " of message " +
                        std::to_string(state_->metadata.stream_sequence) + " on " + state_->subject + ": " +
                        ec.message());
}

void message::async_ack_sync(std::shared_ptr<detail::message_state> state,
                             boost::asio::any_completion_handler<void(error_code)> handler) {
  auto op = detail::pending_operation<void(error_code)>::create(std::move(handler), state->conn.get_executor());
  op->complete_on_terminal_cancel();
  if (state->acknowledged) return void(op->complete({}));
  state->api->request_raw(state->ack_subject(), "+ACK", [state, op](error_code ec, std::string) {
    if (!ec) state->acknowledged = true;
    op->fail("ack_sync of message " + std::to_string(state->metadata.stream_sequence) + " on " + state->subject + ": " +
                 ec.message(),
             ec);
  });
}

}  // namespace natscoro
