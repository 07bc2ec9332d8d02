#include <natscoro/detail/access.hpp>
#include <natscoro/detail/api_client.hpp>
#include <natscoro/detail/connection_core.hpp>
#include <natscoro/detail/jetstream_api.hpp>
#include <natscoro/detail/names.hpp>
#include <natscoro/detail/on_strand.hpp>
#include <natscoro/detail/wire.hpp>
#include <natscoro/logging.hpp>

#include <boost/json/parse.hpp>

namespace natscoro::detail {

api_client::api_client(connection conn, std::string prefix, std::chrono::milliseconds timeout)
    : conn_(std::move(conn)), prefix_(std::move(prefix)), timeout_(timeout) {}

void api_client::request(std::string_view api, std::initializer_list<std::string_view> names, std::string payload,
                         operation::handler_type handler) {
  auto op = operation::create(std::move(handler), conn_.get_executor());
  std::string subject = prefix_ + "." + std::string(api);
  for (const auto name : names) {  // the stream's, then the consumer's
    std::string detail;
    const bool first = subject.size() == prefix_.size() + 1 + api.size();
    if (auto ec = check_name(first ? "stream name" : "consumer name", name, detail)) {
      logger()->error("JetStream API {}: {}; not sent", api, detail);
      return void(op->complete(ec, {}));
    }
    subject.append(".").append(name);
  }
  request_raw(subject, payload, [op](error_code ec, std::string body) {
    if (ec) return void(op->complete(ec, {}));
    boost::system::error_code parse_ec;
    boost::json::value reply = boost::json::parse(body, parse_ec);
    if (parse_ec) return void(op->complete(make_error_code(nats_errc::protocol_error), {}));
    std::string description;
    const error_code api_ec = api_error(reply, description);
    op->complete(api_ec, std::move(reply));
  });
}

void api_client::request_raw(const std::string& subject, std::string_view payload,
                             raw_operation::handler_type handler) {
  auto op = raw_operation::create(std::move(handler), conn_.get_executor());
  if (!valid_publish_subject(subject)) {
    logger()->error("request to \"{}\" refused: not a subject one can publish to", subject);
    return void(op->complete(make_error_code(errc::invalid_subject), {}));
  }
  on_strand(conn_.get_executor(), [self = shared_from_this(), op = std::move(op), subject,
                                   payload = std::string(payload)] { self->send(op, subject, payload); });
}

void api_client::send(const std::shared_ptr<raw_operation>& op, const std::string& subject,
                      const std::string& payload) {
  if (!inbox_) {
    error_code ec;
    inbox_ = reply_inbox::open(
        conn_, conn_.get_executor(),
        [weak = weak_from_this()](std::uint64_t token, nats_msg_ptr msg) {
          if (auto self = weak.lock()) self->on_reply(token, std::move(msg));
        },
        ec);
    if (ec) return void(op->complete(ec, {}));
  }
  const std::uint64_t token = next_token_++;
  const std::string reply = inbox_->reply_subject(token);
  const natsStatus s = wire_of(conn_).request(subject.c_str(), reply.c_str(), payload);
  if (s != NATS_OK) {
    const bool no_link = s == NATS_CONNECTION_CLOSED || s == wire::link_down;
    return void(op->complete(no_link ? make_error_code(errc::not_connected) : nats_error(s), {}));
  }
  if (auto core = access::core(conn_)) core->flush_soon();  // the caller waits for the reply
  auto p = std::make_unique<pending>(pending{op, boost::asio::steady_timer(conn_.get_executor(), timeout_), subject});
  p->timer.async_wait([weak = weak_from_this(), token](error_code ec) {
    if (ec) return;  // cancelled: the reply came
    if (auto self = weak.lock()) self->finish(token, nats_error(NATS_TIMEOUT), {});
  });
  pending_.emplace(token, std::move(p));
}

void api_client::on_reply(std::uint64_t token, nats_msg_ptr msg) {
  if (natsMsg_IsNoResponders(msg.get())) return finish(token, nats_error(NATS_NO_RESPONDERS), {});
  finish(token, {}, std::string(message_data(msg.get())));
}

void api_client::finish(std::uint64_t token, error_code ec, std::string body) {
  auto it = pending_.find(token);
  if (it == pending_.end()) return;  // already timed out
  auto p = std::move(it->second);
  pending_.erase(it);
  p->timer.cancel();
  if (ec == nats_errc::timeout) logger()->warn("request to {} timed out after {} ms", p->subject, timeout_.count());
  p->op->complete(ec, std::move(body));
}

}  // namespace natscoro::detail
