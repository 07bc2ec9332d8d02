#include <natscoro/consumer.hpp>
#include <natscoro/detail/access.hpp>
#include <natscoro/detail/api_client.hpp>
#include <natscoro/detail/connection_core.hpp>
#include <natscoro/detail/consumer_core.hpp>
#include <natscoro/detail/jetstream_api.hpp>
#include <natscoro/detail/last_handle.hpp>
#include <natscoro/detail/message_state.hpp>
#include <natscoro/detail/on_strand.hpp>
#include <natscoro/detail/pending_operation.hpp>
#include <natscoro/detail/pull_protocol.hpp>
#include <natscoro/detail/reply_inbox.hpp>
#include <natscoro/detail/run_counters.hpp>
#include <natscoro/detail/wire.hpp>
#include <natscoro/jetstream.hpp>
#include <natscoro/logging.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <deque>

namespace natscoro {
namespace detail {
namespace {

// How long a message that found the capacity full (from a pull request forgotten
// after a reconnect) waits before the server delivers it again.
constexpr auto unrequested_give_back_delay = std::chrono::seconds(1);

}  // namespace

consumer_core::consumer_core(const jetstream& js, std::string stream, std::string name, consumer_options opts,
                             const boost::json::value& info)
    : js_(js),
      conn_(js.conn()),
      api_(access::api(js)),
      stream_(std::move(stream)),
      name_(std::move(name)),
      next_subject_(js.opts().api_prefix + ".CONSUMER.MSG.NEXT." + stream_ + "." + name_),
      opts_(opts),
      protocol_({.capacity = opts.capacity, .pull_expiry = opts.pull_expiry, .idle_heartbeat = opts.idle_heartbeat}),
      tick_(conn_.get_executor()),
      executor_(conn_.get_executor()) {
  const auto* cfg = info.is_object() ? info.as_object().if_contains("config") : nullptr;
  if (cfg == nullptr || !cfg->is_object()) return;
  if (const auto* v = cfg->as_object().if_contains("ack_wait"); v && v->is_int64())
    ack_wait_ = std::chrono::nanoseconds(v->as_int64());
  if (const auto* v = cfg->as_object().if_contains("max_deliver"); v && v->is_int64())
    max_deliver_ = static_cast<int>(v->as_int64());
}

error_code consumer_core::start() {
  error_code ec;
  inbox_ = reply_inbox::open(
      conn_, conn_.get_executor(),
      [weak = weak_from_this()](std::uint64_t token, nats_msg_ptr msg) {
        if (auto self = weak.lock()) self->on_inbox(token, std::move(msg));
      },
      ec);
  if (ec) return ec;
  if (auto core = access::core(conn_))
    listener_id_ = core->add_listener([weak = weak_from_this()](const connection_event& ev) {
      if (auto self = weak.lock()) self->on_connection_event(ev);
    });
  schedule_tick();
  return {};
}

void consumer_core::next(next_operation::handler_type handler) {
  if (auto m = try_next())  // the common case under load: no need to wait
    return detail::complete_now(conn_.get_executor(), std::move(handler), error_code{}, std::move(m));
  auto op = next_operation::create(std::move(handler), conn_.get_executor());
  op->complete_on_cancel(boost::asio::error::operation_aborted, std::nullopt);
  wait({.one = op, .batch = nullptr, .max = 1});
}

void consumer_core::next(const std::shared_ptr<next_operation>& op) {
  if (auto m = try_next()) return void(op->complete({}, std::move(m)));
  wait({.one = op, .batch = nullptr, .max = 1});
}

void consumer_core::next_batch(std::size_t max, batch_operation::handler_type handler) {
  if (auto batch = try_next_batch(max); !batch.empty())
    return detail::complete_now(conn_.get_executor(), std::move(handler), error_code{}, std::move(batch));
  auto op = batch_operation::create(std::move(handler), conn_.get_executor());
  op->complete_on_cancel(boost::asio::error::operation_aborted, std::vector<message>{});
  wait({.one = nullptr, .batch = op, .max = max});
}

void consumer_core::next_batch(std::size_t max, const std::shared_ptr<batch_operation>& op) {
  if (auto batch = try_next_batch(max); !batch.empty()) return void(op->complete({}, std::move(batch)));
  wait({.one = nullptr, .batch = op, .max = max});
}

void consumer_core::wait(waiter w) {
  if (fatal_ || !protocol_.running()) {
    if (w.one) return void(w.one->fail(fatal_text_, fatal_, std::nullopt));
    return void(w.batch->fail(fatal_text_, fatal_, std::vector<message>{}));
  }
  waiters_.push_back(std::move(w));
  protocol_.start_pulling();
  hand_out();
  maybe_pull();
}

std::optional<message> consumer_core::try_next() {
  if (fatal_ || !protocol_.running() || !waiters_.empty()) return std::nullopt;
  auto state = pop_held();
  if (!state) return std::nullopt;
  protocol_.start_pulling();
  maybe_pull();
  return access::make_message(std::move(state));
}

std::vector<message> consumer_core::try_next_batch(std::size_t max) {
  std::vector<message> out;
  if (fatal_ || !protocol_.running() || !waiters_.empty()) return out;
  out.reserve(std::min(max, held_.size()));
  while (out.size() < max) {
    auto state = pop_held();
    if (!state) break;
    out.push_back(access::make_message(std::move(state)));
  }
  if (out.empty()) return out;
  protocol_.start_pulling();
  maybe_pull();  // once for the batch: the credits it freed go out in one request
  return out;
}

std::shared_ptr<message_state> consumer_core::pop_held() {
  while (!held_.empty()) {
    auto state = message_state::from(std::move(held_.front()), conn_, api_, opts_.envelope);
    held_.pop_front();
    protocol_.on_released();
    if (state) {
      const auto& md = state->metadata;
      stats_.update([&](auto& s) {
        s.held = held_.size();
        s.outstanding = protocol_.outstanding();
        s.pending = md.num_pending;
        if (md.num_delivered > 1) ++s.redelivered;
      });
      return state;
    }
    logger()->error("consumer {}/{}: a delivered message has no JetStream ack subject; skipped", stream_, name_);
  }
  return nullptr;
}

void consumer_core::hand_out() {
  while (protocol_.running() && !waiters_.empty() && !held_.empty()) {
    auto w = std::move(waiters_.front());
    waiters_.pop_front();
    if (!w.pending()) continue;  // cancelled: the messages stay for the next call
    std::vector<message> taken;
    while (taken.size() < w.max) {
      auto state = pop_held();
      if (!state) break;
      taken.push_back(access::make_message(std::move(state)));
    }
    if (taken.empty()) {  // nothing valid was held
      waiters_.push_front(std::move(w));
      return;
    }
    if (w.one) {
      w.one->complete({}, std::move(taken.front()));
    } else {
      w.batch->complete({}, std::move(taken));
    }
  }
}

void consumer_core::settle_waiters() {
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& w : waiters) {
    if (w.one) {
      w.one->fail(fatal_text_, fatal_, std::nullopt);
    } else {
      w.batch->fail(fatal_text_, fatal_, std::vector<message>{});
    }
  }
}

void consumer_core::maybe_pull() {
  pull();
  publish_levels();
}

void consumer_core::publish_levels() {
  stats_.update([this](auto& s) {
    s.held = held_.size();
    s.outstanding = protocol_.outstanding();
  });
}

void consumer_core::pull() {
  if (fatal_ || !inbox_) return;
  const auto request = protocol_.next_request(steady::now());
  if (!request) return;
  const std::string reply = inbox_->reply_subject(request->id);
  // While the link is down the request is not written: the reconnect pulls afresh.
  const natsStatus s = wire_of(conn_).request(next_subject_.c_str(), reply.c_str(), request->body);
  if (s != NATS_OK) {
    protocol_.on_request_unsent(request->id);
    if (s == NATS_CONNECTION_CLOSED) fail(make_error_code(errc::not_connected), "the connection is closed");
    return;
  }
  stats_.update([](auto& s) { ++s.pulls; });
}

void consumer_core::on_inbox(std::uint64_t token, nats_msg_ptr msg) {
  const char* reply = natsMsg_GetReply(msg.get());
  const bool delivered = reply != nullptr && std::string_view(reply).rfind("$JS.ACK.", 0) == 0;
  if (protocol_.stopped()) {
    if (delivered) give_back(msg.get());  // never dropped: redelivered at once
    return;
  }
  const auto now = steady::now();
  protocol_.on_activity(now);
  if (natsMsg_IsNoResponders(msg.get())) return on_status(token, "503", "no responders");
  if (!delivered) {  // a status (one with an ack subject never is): only these are searched for one,
                     // which spares each delivery nats.c's parsing of its headers
    if (const auto status = message_header(msg.get(), "Status"); !status.empty())
      on_status(token, status, message_header(msg.get(), "Description"));
    return;
  }
  stats_.update([](auto& s) { ++s.delivered; });
  if (protocol_.on_delivery(now) == pull_protocol::arrival::give_back_later) {
    // Later, not at once: at once, the forgotten request could take it again and again, each time a delivery.
    give_back(msg.get(), unrequested_give_back_delay);
    stats_.update([](auto& s) { ++s.given_back_unrequested; });
    return;
  }
  held_.push_back(std::move(msg));  // while draining: given back once unsubscribed
  hand_out();
  maybe_pull();
}

void consumer_core::on_status(std::uint64_t token, const std::string& status, const std::string& description) {
  using kind = pull_protocol::status_action::kind;
  const auto action = protocol_.on_status(token, status, description, steady::now());
  switch (action.what) {
    case kind::none:
      return;
    case kind::fail:
      return fail(action.ec, action.detail);
    case kind::pull:
      maybe_pull();
      break;
    case kind::check_consumer:
      // Find out whether the consumer (or its stream) is gone.
      api_->request("CONSUMER.INFO", {stream_, name_}, "",
                    [weak = weak_from_this()](error_code ec, boost::json::value) {
                      auto self = weak.lock();
                      if (!self) return;
                      if (ec == jetstream_errc::consumer_not_found || ec == jetstream_errc::stream_not_found)
                        return self->fail(ec, "the consumer or its stream was deleted");
                      self->maybe_pull();
                    });
      break;
    case kind::pause:
      logger()->debug("consumer {}/{}: pull ended by the server: {}", stream_, name_, action.detail);
      break;
  }
  finish_drain_if_done();
}

void consumer_core::on_connection_event(const connection_event& ev) {
  if (ev.kind == connection_event_kind::reconnected) {
    protocol_.on_link_restored();
    stats_.update([](auto& s) { ++s.repulls; });
    maybe_pull();
  } else if (ev.kind == connection_event_kind::closed) {
    fail(make_error_code(errc::not_connected), "the connection closed");
  }
}

void consumer_core::schedule_tick() {
  tick_.expires_after(opts_.idle_heartbeat);
  tick_.async_wait([weak = weak_from_this()](error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->on_tick();
  });
}

void consumer_core::on_tick() {
  if (!protocol_.running()) return;
  if (protocol_.on_tick(steady::now())) {
    logger()->warn("consumer {}/{}: no heartbeat for {} ms; pulling afresh", stream_, name_,
                   protocol_.silence_allowed().count());
    stats_.update([](auto& s) { ++s.repulls; });
  }
  maybe_pull();
  if (protocol_.running()) schedule_tick();
}

void consumer_core::give_back(natsMsg* msg, std::chrono::nanoseconds delay) {
  // Not written while the link is down: the server then redelivers it after ack_wait.
  wire_of(conn_).publish(natsMsg_GetReply(msg), ack_payload(ack_kind::nak, delay));
}

void consumer_core::give_back_held() {
  for (auto& m : held_) {
    give_back(m.get());
    protocol_.on_released();
  }
  held_.clear();
  publish_levels();
}

void consumer_core::fail(error_code ec, const std::string& detail) {
  if (fatal_ || protocol_.stopped()) return;
  fatal_ = ec;
  fatal_text_ = "consumer " + stream_ + "/" + name_ + ": " + ec.message() + " (" + detail + ")";
  logger()->error("{}", fatal_text_);
  give_back_held();
  settle_waiters();
  close_now();
}

void consumer_core::drain(std::chrono::milliseconds grace, const std::shared_ptr<drain_operation>& op) {
  drains_.push_back(op);
  start_draining(grace);
  finish_drain_if_done();
}

void consumer_core::start_draining(std::chrono::milliseconds grace) {
  if (!protocol_.begin_drain()) return;
  drain_deadline_ = steady::now() + grace;
  settle_waiters();
  tick_.cancel();
  inbox_->drain(grace, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->on_unsubscribed();
  });
}

void consumer_core::on_unsubscribed() {
  const auto held = protocol_.on_unsubscribed();
  if (!held) return;
  inbox_.reset();
  switch (*held) {
    case pull_protocol::held_goes::to_participant:
      std::exchange(participant_unsubscribed_, nullptr)(take_held());
      break;
    case pull_protocol::held_goes::back:
      give_back_held();
      break;
  }
  finish_drain_if_done();
}

bool consumer_core::attach_drain_participant(std::function<void(std::vector<message>)> on_unsubscribed) {
  bool held_now = false;
  if (!protocol_.attach_participant(&held_now)) return false;
  if (held_now) {
    on_unsubscribed(take_held());
  } else {
    participant_unsubscribed_ = std::move(on_unsubscribed);
  }
  return true;
}

std::vector<message> consumer_core::take_held() {
  std::vector<message> out;
  while (auto state = pop_held()) out.push_back(access::make_message(std::move(state)));
  return out;
}

void consumer_core::detach_drain_participant() {
  give_back_held();  // anything that came after the participant took its share
  protocol_.detach_participant();
  participant_unsubscribed_ = nullptr;
  finish_drain_if_done();
}

void consumer_core::finish_drain_if_done() {
  switch (protocol_.next_drain_step()) {
    case pull_protocol::drain_step::none:
      return;
    case pull_protocol::drain_step::stop:
      return close_now();
    case pull_protocol::drain_step::complete:
      break;
  }
  auto drains = std::move(drains_);
  drains_.clear();
  for (auto& d : drains) d->complete({});
}

void consumer_core::close_now() {
  const bool was_running = protocol_.running();
  if (!protocol_.stop()) return;
  if (was_running) drain_deadline_ = steady::now();
  settle_waiters();
  tick_.cancel();
  if (listener_id_ != 0) {
    if (auto core = access::core(conn_)) core->remove_listener(listener_id_);
    listener_id_ = 0;
  }
  on_unsubscribed();  // inbox_.reset() unsubscribes; what an open pull still brings waits out ack_wait
  finish_drain_if_done();
}

void bind_consumer(const jetstream& js, std::string stream, std::string name, consumer_options opts,
                   const boost::json::value& info,
                   const std::shared_ptr<pending_operation<void(error_code, natscoro::consumer)>>& op) {
  auto core = std::make_shared<consumer_core>(js, std::move(stream), std::move(name), opts, info);
  if (auto ec = core->start()) return void(op->complete(ec, natscoro::consumer{}));
  op->complete({},
               access::make_consumer(std::make_shared<last_handle<consumer_core, &consumer_core::stop>>(core), core));
}

}  // namespace detail

consumer::consumer(std::shared_ptr<void> owner, std::shared_ptr<detail::consumer_core> core)
    : owner_(std::move(owner)), core_(std::move(core)), run_counters_(std::make_shared<detail::run_counters>()) {}

const std::string& consumer::stream() const { return core_->stream(); }
const std::string& consumer::name() const { return core_->name(); }
std::chrono::nanoseconds consumer::ack_wait() const { return core_->ack_wait(); }
int consumer::max_deliver() const { return core_->max_deliver(); }
consumer_stats consumer::stats() const { return core_ ? core_->stats() : consumer_stats{}; }

void consumer::stop() {
  if (core_) core_->stop();
}

namespace detail {
void consumer_core::stop() {
  on_strand(executor_, [self = shared_from_this()] { self->close_now(); });
}
}  // namespace detail

void consumer::async_next(const std::shared_ptr<detail::consumer_core>& core,
                          boost::asio::any_completion_handler<void(error_code, std::optional<message>)> handler) {
  if (!core) {
    auto op = detail::next_operation::create(std::move(handler), boost::asio::system_executor());
    return void(op->complete(make_error_code(errc::not_connected), std::nullopt));
  }
  if (detail::running_on(core->executor()))
    return core->next(std::move(handler));  // no allocation when a message is held
  // From another thread: the cancellation slot is connected here, where it may be emitted.
  auto op = detail::next_operation::create(std::move(handler), core->executor());
  op->complete_on_cancel(boost::asio::error::operation_aborted, std::nullopt);
  detail::on_strand(core->executor(), [core, op] { core->next(op); });
}

void consumer::async_next_batch(const std::shared_ptr<detail::consumer_core>& core, std::size_t max,
                                boost::asio::any_completion_handler<void(error_code, std::vector<message>)> handler) {
  const auto ex = core ? core->executor() : boost::asio::any_io_executor(boost::asio::system_executor());
  if (!core || max == 0) {
    auto op = detail::batch_operation::create(std::move(handler), ex);
    if (!core) return void(op->complete(make_error_code(errc::not_connected), std::vector<message>{}));
    return void(op->fail("next_batch: max must be at least 1", make_error_code(errc::invalid_argument),
                         std::vector<message>{}));
  }
  if (detail::running_on(ex)) return core->next_batch(max, std::move(handler));  // no allocation when messages are held
  // From another thread: the cancellation slot is connected here, where it may be emitted.
  auto op = detail::batch_operation::create(std::move(handler), ex);
  op->complete_on_cancel(boost::asio::error::operation_aborted, std::vector<message>{});
  detail::on_strand(ex, [core, max, op] { core->next_batch(max, op); });
}

void consumer::async_drain(const std::shared_ptr<detail::consumer_core>& core, std::chrono::milliseconds grace,
                           boost::asio::any_completion_handler<void(error_code)> handler) {
  if (!core) {
    auto op = detail::drain_operation::create(std::move(handler), boost::asio::system_executor());
    return void(op->complete({}));
  }
  auto op = detail::drain_operation::create(std::move(handler), core->executor());
  op->complete_on_terminal_cancel();
  detail::on_strand(core->executor(), [core, grace, op] { core->drain(grace, op); });
}

}  // namespace natscoro
