#include <natscoro/consumer.hpp>
#include <natscoro/detail/api_client.hpp>
#include <natscoro/detail/connection_core.hpp>
#include <natscoro/detail/jetstream_api.hpp>
#include <natscoro/detail/last_handle.hpp>
#include <natscoro/detail/message_state.hpp>
#include <natscoro/detail/pending_operation.hpp>
#include <natscoro/detail/pull_credits.hpp>
#include <natscoro/detail/reply_inbox.hpp>
#include <natscoro/jetstream.hpp>
#include <natscoro/logging.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <deque>

namespace natscoro {
namespace detail {

using next_operation = pending_operation<void(error_code, std::optional<message>)>;
using drain_operation = pending_operation<void(error_code)>;
using steady = std::chrono::steady_clock;

/// The state of one consumer instance; lives on the connection's executor.
class consumer_core : public std::enable_shared_from_this<consumer_core> {
 public:
  consumer_core(const jetstream& js, std::string stream, std::string name, consumer_options opts)
      : conn_(js.conn()),
        api_(js.api()),
        stream_(std::move(stream)),
        name_(std::move(name)),
        next_subject_(js.opts().api_prefix + ".CONSUMER.MSG.NEXT." + stream_ + "." + name_),
        opts_(opts),
        credits_(opts.capacity),
        watchdog_(opts.idle_heartbeat),
        tick_(conn_.get_executor()) {}

  error_code start();
  void next(next_operation::handler_type handler);
  void drain(std::chrono::milliseconds grace, drain_operation::handler_type handler);
  /// At once: gives back what is held and unsubscribes.
  void stop();

  const std::string& stream() const { return stream_; }
  const std::string& name() const { return name_; }
  consumer_stats stats() const {
    auto s = stats_;
    s.held = held_.size();
    s.outstanding = credits_.outstanding();
    return s;
  }

 private:
  enum class phase { running, draining, stopped };

  void on_inbox(std::uint64_t token, nats_msg_ptr msg);
  void on_status(std::uint64_t token, const std::string& status, const std::string& description);
  void on_connection_event(const connection_event& ev);
  void maybe_pull();
  void hand_out();
  void give_back(natsMsg* msg);
  void give_back_held();
  void fail(error_code ec, const std::string& detail);
  void schedule_tick();
  void finish_drain_if_done();
  void start_draining(std::chrono::milliseconds grace);
  void close_now();
  void on_tick();
  void settle_waiters();

  connection conn_;
  std::shared_ptr<api_client> api_;
  std::string stream_;
  std::string name_;
  std::string next_subject_;
  consumer_options opts_;
  pull_credits credits_;
  heartbeat_watchdog watchdog_;
  std::shared_ptr<reply_inbox> inbox_;
  std::uint64_t listener_id_ = 0;
  std::deque<nats_msg_ptr> held_;  // at most opts_.capacity (pull_credits)
  std::deque<std::shared_ptr<next_operation>> waiters_;
  std::vector<std::shared_ptr<drain_operation>> drains_;
  steady::time_point drain_deadline_{};
  boost::asio::steady_timer tick_;
  phase phase_ = phase::running;
  bool pulling_ = false;  // from the first next()
  steady::time_point paused_until_{};
  error_code fatal_;
  consumer_stats stats_;
};

error_code consumer_core::start() {
  error_code ec;
  inbox_ = reply_inbox::open(
      conn_, conn_.get_executor(),
      [weak = weak_from_this()](std::uint64_t token, nats_msg_ptr msg) {
        if (auto self = weak.lock()) self->on_inbox(token, std::move(msg));
      },
      ec);
  if (ec) return ec;
  if (auto core = conn_.core())
    listener_id_ = core->add_listener([weak = weak_from_this()](const connection_event& ev) {
      if (auto self = weak.lock()) self->on_connection_event(ev);
    });
  schedule_tick();
  return {};
}

void consumer_core::next(next_operation::handler_type handler) {
  auto op = next_operation::create(std::move(handler), conn_.get_executor());
  if (fatal_) return void(op->complete(fatal_, std::nullopt));
  if (phase_ != phase::running && held_.empty()) return void(op->complete({}, std::nullopt));
  op->complete_on_cancel(boost::asio::error::operation_aborted, std::nullopt);
  waiters_.push_back(std::move(op));
  pulling_ = true;
  hand_out();
  maybe_pull();
}

void consumer_core::hand_out() {
  while (!waiters_.empty() && !held_.empty()) {
    auto op = std::move(waiters_.front());
    waiters_.pop_front();
    if (!op->pending()) continue;  // cancelled: the message stays for the next call
    auto state = message_state::from(std::move(held_.front()), conn_, api_);
    held_.pop_front();
    credits_.on_released();
    if (!state) {
      logger()->error("consumer {}/{}: a delivered message has no JetStream ack subject; skipped", stream_, name_);
      waiters_.push_front(std::move(op));
      continue;
    }
    op->complete({}, message(std::move(state)));
  }
  if (phase_ != phase::running && held_.empty()) settle_waiters();
}

void consumer_core::settle_waiters() {
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& w : waiters) w->complete(fatal_, std::nullopt);
}

void consumer_core::maybe_pull() {
  if (phase_ != phase::running || fatal_ || !pulling_ || !inbox_) return;
  const auto now = steady::now();
  if (now < paused_until_) return;  // the tick retries
  const std::size_t batch = credits_.request_size();
  if (batch == 0) return;
  if (credits_.outstanding() == 0) watchdog_.on_activity(now);  // silence counts from the first open request
  // The server ends the request at `expires` with a 408; a little later it is forgotten here anyway.
  const std::uint64_t id = credits_.on_request_sent(batch, now + opts_.pull_expiry + opts_.idle_heartbeat);
  boost::json::object request;
  request["batch"] = batch;
  request["expires"] = std::chrono::nanoseconds(opts_.pull_expiry).count();
  request["idle_heartbeat"] = std::chrono::nanoseconds(opts_.idle_heartbeat).count();
  const std::string body = boost::json::serialize(request);
  const std::string reply = inbox_->reply_subject(id);
  const natsStatus s = natsConnection_PublishRequest(conn_.native_handle(), next_subject_.c_str(), reply.c_str(),
                                                     body.data(), static_cast<int>(body.size()));
  if (s != NATS_OK) {
    credits_.on_request_ended(id);
    if (s == NATS_CONNECTION_CLOSED) fail(make_error_code(errc::not_connected), "the connection is closed");
    return;
  }
  ++stats_.pulls;
}

void consumer_core::on_inbox(std::uint64_t token, nats_msg_ptr msg) {
  const char* reply = natsMsg_GetReply(msg.get());
  const bool delivered = reply != nullptr && std::string_view(reply).rfind("$JS.ACK.", 0) == 0;
  if (phase_ == phase::stopped || fatal_) {
    if (delivered) give_back(msg.get());  // never dropped: redelivered at once
    return;
  }
  watchdog_.on_activity(steady::now());
  if (natsMsg_IsNoResponders(msg.get())) return on_status(token, "503", "no responders");
  if (const auto status = message_header(msg.get(), "Status"); !status.empty())
    return on_status(token, status, message_header(msg.get(), "Description"));
  if (!delivered) return;
  credits_.on_message();
  ++stats_.delivered;
  if (phase_ == phase::draining) {  // brought by a pull still open: give it back at once
    give_back(msg.get());
    credits_.on_released();
    return finish_drain_if_done();
  }
  held_.push_back(std::move(msg));
  hand_out();
  maybe_pull();
}

void consumer_core::on_status(std::uint64_t token, const std::string& status, const std::string& description) {
  if (status == "100") return;  // idle heartbeat
  credits_.on_request_ended(token);
  if (status == "404" || status == "408") {  // no messages / the request expired: ask again
    maybe_pull();
    return finish_drain_if_done();
  }
  if (status == "409" && description.find("Consumer Deleted") != std::string::npos)
    return fail(make_error_code(jetstream_errc::consumer_not_found), "the consumer was deleted");
  if (status == "409" && description.find("push based") != std::string::npos)
    return fail(make_error_code(errc::invalid_argument), "the consumer is push based, not a pull consumer");
  if (status == "503") {
    // No one answers for the consumer: find out whether it (or its stream) is gone.
    api_->request("CONSUMER.INFO." + stream_ + "." + name_, "",
                  [weak = weak_from_this()](error_code ec, boost::json::value) {
                    auto self = weak.lock();
                    if (!self) return;
                    if (ec == jetstream_errc::consumer_not_found || ec == jetstream_errc::stream_not_found)
                      return self->fail(ec, "the consumer or its stream was deleted");
                    self->maybe_pull();
                  });
  } else {
    logger()->debug("consumer {}/{}: pull ended by the server: {} {}", stream_, name_, status, description);
  }
  // 409 "Exceeded MaxAckPending", "Leadership Change" and the like: pull again shortly.
  paused_until_ = steady::now() + std::chrono::milliseconds(500);
  finish_drain_if_done();
}

void consumer_core::on_connection_event(const connection_event& ev) {
  if (ev.kind == connection_event_kind::reconnected) {
    // nats.c re-subscribes but does not resend pull requests: they are gone.
    credits_.reset();
    ++stats_.repulls;
    maybe_pull();
  } else if (ev.kind == connection_event_kind::closed) {
    fail(make_error_code(errc::not_connected), "the connection closed");
  }
}

void consumer_core::schedule_tick() {
  auto due = steady::now() + opts_.idle_heartbeat;
  if (phase_ == phase::draining) due = std::min(due, drain_deadline_);
  tick_.expires_at(due);
  tick_.async_wait([weak = weak_from_this()](error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->on_tick();
  });
}

void consumer_core::on_tick() {
  if (phase_ == phase::stopped) return;
  const auto now = steady::now();
  credits_.expire(now);
  if (credits_.outstanding() > 0 && watchdog_.expired(now)) {
    logger()->warn("consumer {}/{}: no heartbeat for {} ms; pulling afresh", stream_, name_,
                   (2 * opts_.idle_heartbeat).count());
    credits_.reset();
    ++stats_.repulls;
  }
  maybe_pull();
  finish_drain_if_done();
  if (phase_ != phase::stopped) schedule_tick();
}

void consumer_core::give_back(natsMsg* msg) {
  static constexpr std::string_view nak = "-NAK";
  natsConnection_Publish(conn_.native_handle(), natsMsg_GetReply(msg), nak.data(), static_cast<int>(nak.size()));
}

void consumer_core::give_back_held() {
  for (auto& m : held_) {
    give_back(m.get());
    credits_.on_released();
  }
  held_.clear();
}

void consumer_core::fail(error_code ec, const std::string& detail) {
  if (fatal_ || phase_ == phase::stopped) return;
  fatal_ = ec;
  logger()->error("consumer {}/{}: {} ({})", stream_, name_, ec.message(), detail);
  give_back_held();
  settle_waiters();
  close_now();
}

void consumer_core::drain(std::chrono::milliseconds grace, drain_operation::handler_type handler) {
  auto op = drain_operation::create(std::move(handler), conn_.get_executor());
  if (phase_ == phase::stopped) return void(op->complete({}));
  drains_.push_back(std::move(op));
  start_draining(grace);
}

void consumer_core::stop() { close_now(); }

void consumer_core::start_draining(std::chrono::milliseconds grace) {
  if (phase_ == phase::running) {
    phase_ = phase::draining;
    drain_deadline_ = steady::now() + grace;
    give_back_held();
    settle_waiters();
    schedule_tick();
  }
  finish_drain_if_done();
}

// Open pull requests keep bringing messages (given back at once, see on_inbox) until
// they are filled or ended; only then is unsubscribing safe: a message the server sends
// to a closed subscription waits out ack_wait.
void consumer_core::finish_drain_if_done() {
  if (phase_ != phase::draining) return;
  if (credits_.outstanding() > 0 && steady::now() < drain_deadline_) return;
  close_now();
}

void consumer_core::close_now() {
  if (phase_ == phase::stopped) return;
  phase_ = phase::stopped;
  inbox_.reset();  // unsubscribes
  give_back_held();
  settle_waiters();
  tick_.cancel();
  if (listener_id_ != 0) {
    if (auto core = conn_.core()) core->remove_listener(listener_id_);
    listener_id_ = 0;
  }
  auto drains = std::move(drains_);
  drains_.clear();
  for (auto& d : drains) d->complete({});
}

void bind_consumer(const jetstream& js, std::string stream, std::string name, consumer_options opts,
                   const std::shared_ptr<pending_operation<void(error_code, natscoro::consumer)>>& op) {
  auto core = std::make_shared<consumer_core>(js, std::move(stream), std::move(name), opts);
  if (auto ec = core->start()) return void(op->complete(ec, natscoro::consumer{}));
  op->complete({}, natscoro::consumer(std::make_shared<last_handle<consumer_core, &consumer_core::stop>>(core), core));
}

}  // namespace detail

const std::string& consumer::stream() const { return core_->stream(); }
const std::string& consumer::name() const { return core_->name(); }
consumer_stats consumer::stats() const { return core_ ? core_->stats() : consumer_stats{}; }

void consumer::stop() {
  if (core_) core_->stop();
}

void consumer::async_next(const std::shared_ptr<detail::consumer_core>& core,
                          boost::asio::any_completion_handler<void(error_code, std::optional<message>)> handler) {
  if (!core) {
    auto op = detail::next_operation::create(std::move(handler), boost::asio::system_executor());
    return void(op->complete(make_error_code(errc::not_connected), std::nullopt));
  }
  core->next(std::move(handler));
}

void consumer::async_drain(const std::shared_ptr<detail::consumer_core>& core, std::chrono::milliseconds grace,
                           boost::asio::any_completion_handler<void(error_code)> handler) {
  if (!core) {
    auto op = detail::drain_operation::create(std::move(handler), boost::asio::system_executor());
    return void(op->complete({}));
  }
  core->drain(grace, std::move(handler));
}

}  // namespace natscoro
