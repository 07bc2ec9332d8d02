#include <natscoro/detail/access.hpp>
#include <natscoro/detail/connection_core.hpp>
#include <natscoro/detail/envelope_codec.hpp>
#include <natscoro/detail/jetstream_api.hpp>
#include <natscoro/detail/names.hpp>
#include <natscoro/detail/nats_message.hpp>
#include <natscoro/detail/on_strand.hpp>
#include <natscoro/detail/pending_operation.hpp>
#include <natscoro/detail/prepared_publish.hpp>
#include <natscoro/detail/publish_window.hpp>
#include <natscoro/detail/reply_inbox.hpp>
#include <natscoro/detail/shared_stats.hpp>
#include <natscoro/detail/subject_template.hpp>
#include <natscoro/detail/wire.hpp>
#include <natscoro/logging.hpp>
#include <natscoro/publisher.hpp>

#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <deque>
#include <random>

namespace natscoro {
namespace detail {

using publish_operation = pending_operation<void(error_code, pub_ack)>;
using flush_operation = pending_operation<void(error_code)>;  // also waits for room
using steady = std::chrono::steady_clock;

/// The publisher's state; lives on the connection's strand. prepare() and
/// prepare_raw() read only what the constructor set, and run on the caller's thread.
/// The window's decisions are publish_window's; this writes, completes and logs.
class publisher_core : public std::enable_shared_from_this<publisher_core> {
 public:
  publisher_core(const jetstream& js, publisher_options opts)
      : conn_(js.conn()),
        opts_(std::move(opts)),
        window_(opts_.max_in_flight, opts_.ack_timeout, opts_.retry, std::random_device{}()),
        timer_(conn_.get_executor()) {
    if (!opts_.subject_template.empty()) {
      template_error_ = subject_template::parse(opts_.subject_template, template_, template_detail_);
      if (template_error_) logger()->error("publisher: {}", template_detail_);
    }
  }

  void start_listening() {
    if (auto core = access::core(conn_))
      listener_id_ = core->add_listener([weak = weak_from_this()](const connection_event& ev) {
        if (auto self = weak.lock()) self->on_connection_event(ev);
      });
  }

  prepared_publish prepare(std::string subject, event evt, const publish_expectations& expect);
  prepared_publish prepare_raw(raw_message msg);
  /// `op` honours every cancellation type (publisher::async_publish connected it).
  void publish(prepared_publish& prepared, const std::shared_ptr<publish_operation>& op);
  /// Counts a publish refused before sending and logs it; returns the logged text.
  std::string count_refusal(const prepared_publish& p);
  void flush(const std::shared_ptr<flush_operation>& op);
  /// `op` honours every cancellation type (publisher::async_wait_for_room connected it).
  void wait_for_room(const std::shared_ptr<flush_operation>& op);
  void shutdown();
  publisher_stats stats() const { return stats_.snapshot(); }
  /// has_room() as of the last change, for any thread.
  bool had_room() const { return had_room_.load(std::memory_order_relaxed); }
  boost::asio::any_io_executor executor() const { return conn_.get_executor(); }

 private:
  /// What the window carries for each publish.
  struct outgoing {
    std::string event_id;
    nats_msg_ptr msg;
    std::shared_ptr<publish_operation> op;
    steady::time_point started;  // for the PubAck latency
  };
  using window = publish_window<outgoing>;

  std::string log_failure(const std::string& subject, const std::string& id, error_code ec, const std::string& detail);
  void fail_now(const std::shared_ptr<publish_operation>& op, const std::string& subject, const std::string& id,
                error_code ec, const std::string& detail);
  bool check_subject(prepared_publish& p) const;
  void check_size(prepared_publish& p) const;
  /// Writes a publish that has just taken its place, unless its caller gave up meanwhile.
  void write_first(window::entry& e);
  void write(window::entry& e);
  /// Carries out the window's verdict on `e`.
  void apply(window::entry& e, const publish_verdict& v);
  void complete(window::token id, error_code ec, const pub_ack& ack, const std::string& detail);
  void on_reply(window::token id, nats_msg_ptr msg);
  void arm_timer();
  void on_timer();
  void pump_waiting();
  void check_flushes();
  void check_room();
  void on_connection_event(const connection_event& ev);
  bool ensure_inbox(error_code& ec);
  /// Publishes the window's new levels to stats() and had_room().
  void levels_changed();

  connection conn_;
  publisher_options opts_;
  subject_template template_;  // parsed opts_.subject_template
  error_code template_error_;  // why it does not parse
  std::string template_detail_;
  std::shared_ptr<reply_inbox> inbox_;
  std::uint64_t listener_id_ = 0;
  bool shut_down_ = false;
  window window_;
  std::vector<std::shared_ptr<flush_operation>> flushes_;
  std::deque<std::shared_ptr<flush_operation>> room_waiters_;
  boost::asio::steady_timer timer_;
  steady::time_point timer_due_ = steady::time_point::max();
  shared_stats<publisher_stats> stats_;
  std::atomic<bool> had_room_{true};
};

bool publisher_core::ensure_inbox(error_code& ec) {
  if (inbox_) return true;
  inbox_ = reply_inbox::open(
      conn_, conn_.get_executor(),
      [weak = weak_from_this()](std::uint64_t token, nats_msg_ptr msg) {
        if (auto self = weak.lock()) self->on_reply(token, std::move(msg));
      },
      ec);
  return inbox_ != nullptr;
}

std::string publisher_core::log_failure(const std::string& subject, const std::string& id, error_code ec,
                                        const std::string& detail) {
  stats_.update([](auto& s) { ++s.failed; });
  // An event refused before its subject was decided has none to name.
  std::string text = "publish of event " + id + (subject.empty() ? "" : " to " + subject) + " failed: " + ec.message() +
                     (detail.empty() ? "" : ": ") + detail;
  logger()->error("{}", text);
  return text;
}

void publisher_core::fail_now(const std::shared_ptr<publish_operation>& op, const std::string& subject,
                              const std::string& id, error_code ec, const std::string& detail) {
  op->fail(log_failure(subject, id, ec, detail), ec, pub_ack{});
}

prepared_publish publisher_core::prepare(std::string subject, event evt, const publish_expectations& expect) {
  prepared_publish p;
  if (evt.id.empty()) evt.id = new_event_id();
  if (evt.source.empty()) evt.source = opts_.source;
  if (evt.time == event::clock::time_point{})
    evt.time = std::chrono::time_point_cast<std::chrono::microseconds>(event::clock::now());
  p.event_id = evt.id;
  if ((p.error = evt.validate(p.detail, opts_.require_organization))) return p;
  if (subject.empty() && !opts_.subject_template.empty()) {
    p.error = template_error_;
    p.detail = template_detail_;
    if (!p.error) p.error = template_.render(evt, subject, p.detail);
    if (p.error) return p;
  }
  if (subject.empty()) subject = opts_.subject_prefix.empty() ? evt.type : opts_.subject_prefix + "." + evt.type;
  p.subject = std::move(subject);
  if (!check_subject(p)) return p;
  p.encoded = encode_event(evt, opts_.encoding);
  auto& headers = p.encoded.headers;
  headers.emplace_back("Nats-Msg-Id", evt.id);
  if (expect.stream) headers.emplace_back("Nats-Expected-Stream", *expect.stream);
  if (expect.last_sequence) headers.emplace_back("Nats-Expected-Last-Sequence", std::to_string(*expect.last_sequence));
  if (expect.last_subject_sequence)
    headers.emplace_back("Nats-Expected-Last-Subject-Sequence", std::to_string(*expect.last_subject_sequence));
  if (expect.last_event_id) headers.emplace_back("Nats-Expected-Last-Msg-Id", *expect.last_event_id);
  check_size(p);
  return p;
}

prepared_publish publisher_core::prepare_raw(raw_message msg) {
  prepared_publish p;
  p.subject = std::move(msg.subject);
  p.event_id = msg.id.empty() ? new_event_id() : std::move(msg.id);
  if (!check_subject(p)) return p;
  auto& headers = p.encoded.headers;
  headers = std::move(msg.headers);
  std::erase_if(headers, [](const auto& h) { return boost::algorithm::iequals(h.first, "Nats-Msg-Id"); });
  headers.emplace_back("Nats-Msg-Id", p.event_id);
  p.encoded.body = std::move(msg.data);
  check_size(p);
  return p;
}

bool publisher_core::check_subject(prepared_publish& p) const {
  if (valid_publish_subject(p.subject)) return true;
  p.error = make_error_code(errc::invalid_subject);
  p.detail = "\"" + p.subject + "\" is not a subject one can publish to";
  return false;
}

void publisher_core::check_size(prepared_publish& p) const {
  // The server's figure as of the last link: asking nats.c would wait for its lock during a reconnect.
  const std::size_t max_payload = wire_of(conn_).max_payload();
  const std::size_t size = wire_payload_size(p.encoded.headers, p.encoded.body);
  if (max_payload > 0 && size > max_payload) {
    p.error = make_error_code(errc::payload_too_large);
    p.detail = "the message is " + std::to_string(size) + " bytes, the server accepts " + std::to_string(max_payload);
  }
}

std::string publisher_core::count_refusal(const prepared_publish& p) {
  stats_.update([](auto& s) { ++s.published; });
  return log_failure(p.subject, p.event_id, p.error, p.detail);
}

void publisher_core::publish(prepared_publish& prepared, const std::shared_ptr<publish_operation>& op) {
  if (prepared.error) {
    op->fail(count_refusal(prepared), prepared.error, pub_ack{});
    return;
  }
  stats_.update([](auto& s) { ++s.published; });

  error_code ec;
  if (!ensure_inbox(ec))
    return fail_now(op, prepared.subject, prepared.event_id, ec, "cannot subscribe to the reply inbox");

  outgoing out{std::move(prepared.event_id), nullptr, op, steady::now()};
  natsStatus status = NATS_OK;
  // The token the window will give it: the reply subject is part of the message.
  const std::string reply = inbox_->reply_subject(window_.next_token());
  out.msg = make_message(prepared.subject, reply.c_str(), prepared.encoded.body, prepared.encoded.headers, status);
  if (!out.msg) return fail_now(op, prepared.subject, out.event_id, nats_error(status), "cannot build the message");
  // Without room the caller waits: backpressure, bounded by the callers themselves.
  if (auto* e = window_.admit(std::move(prepared.subject), std::move(out))) write_first(*e);
  levels_changed();
}

void publisher_core::write_first(window::entry& e) {
  // Waiting for room, it has had no effect: any type of cancellation. Once on the
  // wire the stream may store it whatever happens: the caller can stop waiting
  // (terminal), nothing can make it as if it had not been sent (partial, total).
  // Narrowed first: a cancellation that came before still finds it unsent.
  e.payload.op->honour(boost::asio::cancellation_type::terminal);
  if (!e.payload.op->pending()) {  // cancelled: never sent
    stats_.update([](auto& s) { ++s.failed; });
    window_.take(e.id);
    return;
  }
  write(e);
}

void publisher_core::levels_changed() {
  stats_.update([this](auto& s) {
    s.in_flight = window_.in_flight();
    s.waiting = window_.waiting();
  });
  had_room_.store(window_.has_room(), std::memory_order_relaxed);
}

void publisher_core::write(window::entry& e) {
  const natsStatus s = wire_of(conn_).publish(e.payload.msg.get());
  publish_verdict v;
  const auto now = steady::now();
  switch (s) {
    case NATS_OK:
      v = window_.on_written(e, write_outcome::written, {}, {}, now);
      // A lone publish (nothing else in flight: a sequential producer) is written
      // at once; while others are in flight, nats.c's flusher batches the writes.
      if (window_.in_flight() == 1)
        if (auto core = access::core(conn_)) core->flush_soon();
      break;
    case wire::link_down:  // reconnecting, or a degraded start before the first link
    case NATS_TIMEOUT:     // the write deadline passed: nats.c dropped the link
      v = window_.on_written(e, write_outcome::no_link, {}, {}, now);
      break;
    case NATS_CONNECTION_CLOSED:
      v = window_.on_written(e, write_outcome::closed, make_error_code(errc::not_connected), "the connection is closed",
                             now);
      break;
    case NATS_MAX_PAYLOAD:
      v = window_.on_written(e, write_outcome::too_large, make_error_code(errc::payload_too_large), "refused by nats.c",
                             now);
      break;
    default:
      v = window_.on_written(e, write_outcome::failed, nats_error(s), natsStatus_GetText(s), now);
      break;
  }
  apply(e, v);
}

void publisher_core::apply(window::entry& e, const publish_verdict& v) {
  switch (v.what) {
    case publish_verdict::kind::wait:
      break;
    case publish_verdict::kind::retry:
      stats_.update([](auto& s) { ++s.retried; });
      logger()->warn("publish of event {} to {}: {} ({}); attempt {} in {} ms", e.payload.event_id, e.subject,
                     v.ec.message(), v.detail, e.attempt, v.delay.count());
      break;
    case publish_verdict::kind::complete:
      return complete(e.id, v.ec, {}, v.detail);
  }
  arm_timer();
}

void publisher_core::arm_timer() {
  const auto next = window_.next_deadline();
  if (!next || *next >= timer_due_) return;  // nothing due, or armed for something earlier already
  timer_due_ = *next;
  timer_.expires_at(*next);
  timer_.async_wait([weak = weak_from_this()](error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->on_timer();
  });
}

void publisher_core::on_timer() {
  timer_due_ = steady::time_point::max();
  for (const auto& expired : window_.on_deadline(steady::now())) {
    window::entry* e = window_.find(expired.id);
    if (e == nullptr) continue;  // completed by an earlier one's consequences
    if (expired.write)
      write(*e);
    else
      apply(*e, expired.verdict);
  }
  arm_timer();
}

void publisher_core::on_reply(window::token id, nats_msg_ptr msg) {
  window::entry* e = window_.find(id);
  if (e == nullptr) return;  // a late reply to a publish already completed
  const auto now = steady::now();
  if (natsMsg_IsNoResponders(msg.get()))
    return apply(*e, window_.on_reply(id, window::reply::no_responders, nats_error(NATS_NO_RESPONDERS),
                                      "no stream answered for the subject", now));
  pub_ack ack;
  std::string detail;
  const error_code ec = parse_pub_ack(message_data(msg.get()), ack, detail);
  if (ec && ec.category() == jetstream_category() && ec.value() == 503)  // the stream is not available yet
    return apply(*e, window_.on_reply(id, window::reply::unavailable, ec, detail, now));
  complete(id, ec, ack, detail);
}

void publisher_core::complete(window::token id, error_code ec, const pub_ack& ack, const std::string& detail) {
  auto e = window_.take(id);
  if (!e) return;
  if (ec) {
    e->payload.op->fail(log_failure(e->subject, e->payload.event_id, ec, detail), ec, ack);
  } else {
    const auto latency = steady::now() - e->payload.started;
    stats_.update([&](auto& s) {
      ++s.acknowledged;
      if (ack.duplicate) ++s.duplicates;
      s.ack_latency.record(latency);
    });
    logger()->debug("stored event {} on {} as {} #{}{}", e->payload.event_id, e->subject, ack.stream, ack.sequence,
                    ack.duplicate ? " (duplicate)" : "");
    e->payload.op->complete(ec, ack);
  }
  pump_waiting();
  levels_changed();
  check_room();
  check_flushes();
}

void publisher_core::pump_waiting() {
  while (auto* e = window_.next_waiting()) write_first(*e);
}

void publisher_core::check_flushes() {
  if (!window_.idle() || flushes_.empty()) return;
  auto done = std::move(flushes_);
  flushes_.clear();
  for (auto& f : done) f->complete({});
}

void publisher_core::flush(const std::shared_ptr<flush_operation>& op) {
  flushes_.push_back(op);
  check_flushes();
}

void publisher_core::wait_for_room(const std::shared_ptr<flush_operation>& op) {
  if (shut_down_) return void(op->complete(make_error_code(errc::closing)));  // no PubAck will ever free a place
  if (room_waiters_.empty() && window_.room_for_newcomer()) return void(op->complete({}));  // room already
  room_waiters_.push_back(op);
  check_room();
}

void publisher_core::check_room() {
  // One waiter per free place: each is expected to publish once it resumes.
  std::size_t free = window_.places_for_waiters();
  while (!room_waiters_.empty() && free > 0) {
    if (room_waiters_.front()->complete({})) --free;  // a cancelled one takes no place
    room_waiters_.pop_front();
  }
}

void publisher_core::on_connection_event(const connection_event& ev) {
  switch (ev.kind) {
    case connection_event_kind::connected:  // the first link of a degraded start
    case connection_event_kind::reconnected:
      for (auto id : window_.on_link_restored())
        if (auto* e = window_.find(id)) write(*e);
      break;
    case connection_event_kind::server_error: {
      // 'Permissions Violation for Publish to "subject"' fails the oldest publish to that subject.
      if (ev.error != nats_errc::not_permitted) break;
      const auto marker = ev.detail.find("Publish to \"");
      if (marker == std::string::npos) break;
      const auto start = marker + std::string_view("Publish to \"").size();
      const std::string subject = ev.detail.substr(start, ev.detail.find('"', start) - start);
      if (auto oldest = window_.oldest_to(subject))
        complete(*oldest, make_error_code(nats_errc::not_permitted), {}, ev.detail);
      break;
    }
    case connection_event_kind::closed:
      shutdown();
      break;
    default:
      break;
  }
}

void publisher_core::shutdown() {
  shut_down_ = true;
  // Before failing what is in flight: the places that frees are not room to publish.
  for (auto& w : std::exchange(room_waiters_, {})) w->complete(make_error_code(errc::closing));
  if (listener_id_ != 0) {
    if (auto core = access::core(conn_)) core->remove_listener(listener_id_);
    listener_id_ = 0;
  }
  timer_.cancel();
  // The waiting ones first: completing what is in flight would let them take its places.
  for (auto& e : window_.take_waiting())
    fail_now(e.payload.op, e.subject, e.payload.event_id, make_error_code(errc::closing), "closed before it was sent");
  for (auto id : window_.tokens())
    complete(id, make_error_code(errc::closing), {}, "the publisher or connection closed");
  levels_changed();
  check_flushes();
}

publisher_stats stats_of(const publisher_core& core) { return core.stats(); }

}  // namespace detail

publisher::publisher(const jetstream& js, publisher_options opts)
    : core_(std::make_shared<detail::publisher_core>(js, std::move(opts))) {
  core_->start_listening();
}

publisher::~publisher() { shut_down(std::move(core_)); }

void publisher::shut_down(std::shared_ptr<detail::publisher_core> core) {
  if (core) detail::on_strand(core->executor(), [core] { core->shutdown(); });
}

publisher::publisher(publisher&&) noexcept = default;

publisher& publisher::operator=(publisher&& other) noexcept {
  if (this != &other) {
    shut_down(std::exchange(core_, std::move(other.core_)));
  }
  return *this;
}

boost::asio::any_io_executor publisher::get_executor() const { return core_->executor(); }

publisher_stats publisher::stats() const { return core_->stats(); }

bool publisher::has_room() const { return core_->had_room(); }

std::shared_ptr<detail::prepared_publish> publisher::prepare(std::string subject, event evt,
                                                             const publish_expectations& expect) {
  return std::make_shared<detail::prepared_publish>(core_->prepare(std::move(subject), std::move(evt), expect));
}

std::shared_ptr<detail::prepared_publish> publisher::prepare_raw(raw_message msg) {
  return std::make_shared<detail::prepared_publish>(core_->prepare_raw(std::move(msg)));
}

void publisher::async_publish(const std::shared_ptr<detail::publisher_core>& core,
                              std::shared_ptr<detail::prepared_publish> prepared,
                              boost::asio::any_completion_handler<void(error_code, pub_ack)> handler) {
  auto op = detail::publish_operation::create(std::move(handler), core->executor());
  op->complete_on_cancel(boost::asio::error::operation_aborted, pub_ack{});  // until it is sent
  detail::on_strand(core->executor(), [core, prepared = std::move(prepared), op] { core->publish(*prepared, op); });
}

void publisher::async_wait_for_room(const std::shared_ptr<detail::publisher_core>& core,
                                    boost::asio::any_completion_handler<void(error_code)> handler) {
  auto op = detail::flush_operation::create(std::move(handler), core->executor());
  op->complete_on_cancel(boost::asio::error::operation_aborted);
  detail::on_strand(core->executor(), [core, op] { core->wait_for_room(op); });
}

void publisher::async_flush(const std::shared_ptr<detail::publisher_core>& core,
                            boost::asio::any_completion_handler<void(error_code)> handler) {
  auto op = detail::flush_operation::create(std::move(handler), core->executor());
  op->complete_on_terminal_cancel();
  detail::on_strand(core->executor(), [core, op] { core->flush(op); });
}

}  // namespace natscoro
