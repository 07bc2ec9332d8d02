#include <natscoro/consumer.hpp>
#include <natscoro/detail/access.hpp>
#include <natscoro/detail/api_client.hpp>
#include <natscoro/detail/consumer_core.hpp>
#include <natscoro/detail/dead_letter_writer.hpp>
#include <natscoro/detail/failure_policy.hpp>
#include <natscoro/detail/jetstream_api.hpp>
#include <natscoro/detail/lane_scheduler.hpp>
#include <natscoro/detail/log_text.hpp>
#include <natscoro/detail/names.hpp>
#include <natscoro/detail/nats_message.hpp>
#include <natscoro/detail/on_strand.hpp>
#include <natscoro/detail/pending_operation.hpp>
#include <natscoro/detail/processed_id_store.hpp>
#include <natscoro/detail/runner_core.hpp>
#include <natscoro/logging.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/system_executor.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <random>

namespace natscoro {

ordering_key_function key_by_subject_token(std::size_t index) {
  return [index](const message& m) -> std::string {
    const std::string& s = m.subject();
    std::size_t start = 0;
    for (std::size_t i = 0; i < index; ++i) {
      const auto dot = s.find('.', start);
      if (dot == std::string::npos) return {};
      start = dot + 1;
    }
    const auto end = s.find('.', start);
    return s.substr(start, end == std::string::npos ? std::string::npos : end - start);
  };
}

namespace detail {

namespace {

/// Sends an ack, nak, term or in-progress. One that cannot be written (the connection is
/// closed) leaves the server doing what it does anyway, redelivering after ack_wait: logged.
void send_or_log(message& m, ack_kind kind, std::chrono::nanoseconds delay = std::chrono::nanoseconds(0)) {
  error_code ec;
  const char* what = "in_progress";
  switch (kind) {
    case ack_kind::ack:
      m.ack(ec), what = "ack";
      break;
    case ack_kind::nak:
      m.nak(delay, ec), what = "nak";
      break;
    case ack_kind::term:
      m.term(ec), what = "term";
      break;
    case ack_kind::in_progress:
      m.in_progress(ec);
      break;
  }
  if (ec)
    logger()->warn("{} of message {} could not be sent: {} (it will be redelivered after ack_wait)", what,
                   m.metadata().stream_sequence, ec.message());
}

// Some text for what a failed attempt threw.
std::pair<failure_kind, std::string> classify(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const permanent_error& ex) {
    return {failure_kind::permanent, ex.what()};
  } catch (const std::exception& ex) {
    return {failure_kind::failed, ex.what()};
  } catch (...) {
    return {failure_kind::failed, "an exception that is not a std::exception"};
  }
}

// The handler's coroutine; a handler that throws before returning its awaitable fails the
// attempt the same way. What it threw is classified here, on the handler's thread: no
// exception object crosses threads (libstdc++ counts their references in code that
// ThreadSanitizer does not see, and reports the last release as a race).
boost::asio::awaitable<attempt_failure> call_handler(message_handler& handler, message& msg) {
  try {
    co_await handler(msg);
  } catch (...) {
    co_return classify(std::current_exception());
  }
  co_return std::nullopt;
}

}  // namespace

void runner_core::connect_cancellation() {
  // Terminal and partial: what was handled stays handled (total would need it undone).
  op_->on_cancel(boost::asio::cancellation_type::terminal | boost::asio::cancellation_type::partial,
                 [weak = weak_from_this()] {  // posted to the strand, after start()
                   auto self = weak.lock();
                   if (!self || self->finished_) return;
                   self->cancelled_ = true;
                   self->core_->start_draining(self->opts_.drain_deadline);
                 });
}

void runner_core::refuse(const std::string& problem) {
  const std::string text = "run " + core_->stream() + "/" + core_->name() + ": " + problem;
  logger()->error("{}", text);
  op_->fail(text, make_error_code(errc::invalid_argument));
}

void runner_core::start() {
  if (opts_.concurrency == 0) return refuse("run_options::concurrency must be at least 1");
  if (opts_.dead_letter &&
      (!valid_name(opts_.dead_letter->stream) || !valid_publish_subject(opts_.dead_letter->subject_prefix + ".x")))
    return refuse("dead-letter stream \"" + printable(opts_.dead_letter->stream) + "\" or subject prefix \"" +
                  printable(opts_.dead_letter->subject_prefix) + "\" is not valid");
  if (const auto& p = opts_.processed_ids;
      p && (!valid_bucket_name(p->bucket) || p->ttl.count() <= 0 || p->replicas < 1 || p->replicas > 5))
    return refuse("processed_ids needs a bucket name of letters, digits, '-' and '_' (got \"" + printable(p->bucket) +
                  "\"), a ttl above 0 and 1 to 5 replicas");
  const bool attached = core_->attach_drain_participant([weak = weak_from_this()](std::vector<message> held) {
    if (auto self = weak.lock()) self->on_unsubscribed(std::move(held));
  });
  if (!attached) return refuse("run() is in progress already on this consumer");
  counters_->update([](auto& s) { s = runner_stats{}; });
  self_ = shared_from_this();  // the run lasts until it settles, whoever else lets go of it
  queue_limit_ = core_->capacity();

  if (opts_.dead_letter) {
    dlq_ = std::make_shared<publisher>(core_->js(), dead_letter_publisher_options());
    create_stream_if_missing(core_->js(), dead_letter_stream_config(*opts_.dead_letter),
                             [weak = weak_from_this(), name = opts_.dead_letter->stream](error_code ec) {
                               if (!ec) {
                                 if (auto self = weak.lock()) self->observe_dead_letter_queue();
                                 return;
                               }
                               logger()->error(
                                   "dead-letter stream {} is not available: {}; dead-lettering will "
                                   "fail (and nak) until it is",
                                   name, ec.message());
                             });
    if (opts_.dead_letter->capture_max_deliveries) {
      mover_ = std::make_shared<max_deliveries_mover>(core_->js(), core_->stream(), core_->name(), *opts_.dead_letter,
                                                      dlq_, [weak = weak_from_this()] {
                                                        auto self = weak.lock();
                                                        if (!self) return;
                                                        self->counters_->update([](auto& s) { ++s.moved_by_advisory; });
                                                        self->observe_dead_letter_queue();
                                                      });
      mover_running_ = true;
      mover_->start();
    }
  }
  logger()->info("run {}/{}: concurrency {}, {}{}", core_->stream(), core_->name(), opts_.concurrency,
                 opts_.ordering_key ? "ordered by key" : "unordered",
                 opts_.processed_ids ? ", skipping processed ids" : "");
  arm_keepalive();
  if (!opts_.processed_ids) return take();
  // Messages are taken once the bucket exists: lookups before would all fail.
  processed_ = std::make_shared<processed_id_store>(core_->js(), *opts_.processed_ids, core_->name());
  processed_->start([self = shared_from_this(), bucket = opts_.processed_ids->bucket](error_code ec) {
    if (ec)
      logger()->error("processed-id bucket {} is not available: {}; events are handled without it until it is", bucket,
                      ec.message());
    self->take();
  });
}

void runner_core::take() {
  if (stopping_ || taking_ || lanes_.queued() >= queue_limit_) return;
  taking_ = true;
  core_->next(
      [self = shared_from_this()](error_code ec, std::optional<message> m) { self->on_next(ec, std::move(m)); });
}

void runner_core::on_next(error_code ec, std::optional<message> m) {
  taking_ = false;
  if (ec || !m) {
    if (ec && !end_error_) end_error_ = ec;
    begin_stop();
    return check_settled();
  }
  accept(std::move(*m));
  // What else the consumer holds is taken at once: one trip through the
  // executor per message saved (measured in benchmark E).
  while (!stopping_ && lanes_.queued() < queue_limit_) {
    auto more = core_->try_next();
    if (!more) break;
    accept(std::move(*more));
  }
  take();
}

void runner_core::accept(message m) {
  const std::uint64_t id = next_id_++;
  auto s = std::make_unique<slot>(std::move(m));
  if (opts_.ordering_key) {
    try {
      s->key = opts_.ordering_key(s->msg);
    } catch (const std::exception& e) {
      logger()->warn("run {}/{}: ordering_key threw for message {} ({}); handled without a key", core_->stream(),
                     core_->name(), s->msg.metadata().stream_sequence, e.what());
    }
  }
  // Decoded once, kept for the handler's msg.event().
  if (const auto decoded = decoded_event(s->msg, s->decode_error, s->decode_detail)) s->event_id = decoded->id;
  s->checked = !processed_;
  lanes_.push(id, s->key);
  slots_.emplace(id, std::move(s));
  if (stopping_) return give_back_ready();
  schedule();
}

void runner_core::schedule() {
  if (stopping_) return;
  while (auto id = lanes_.start_next()) run_attempt(*id);
  update_gauges();
}

void runner_core::run_attempt(std::uint64_t id) {
  slot& s = *slots_.at(id);
  s.waiting_retry = false;
  if (s.decode_error) return on_failure(id, failure_kind::invalid_event, "invalid_event: " + s.decode_detail);
  if (!s.checked) return check_processed(id);
  set_calls_this_delivery(s.msg, ++s.attempts_here);
  s.running = true;
  counters_->update([](auto& stats) {
    ++stats.in_flight;
    stats.in_flight_high_water = std::max(stats.in_flight_high_water, stats.in_flight);
  });
  if (idle_strands_.empty()) {
    s.strand = boost::asio::make_strand(handler_ex_);
  } else {
    s.strand = std::move(idle_strands_.back());
    idle_strands_.pop_back();
  }
  boost::asio::co_spawn(
      s.strand, call_handler(handler_, s.msg),
      boost::asio::bind_cancellation_slot(
          s.cancel.slot(), boost::asio::bind_executor(
                               ex_, [self = shared_from_this(), id](std::exception_ptr e, attempt_failure failure) {
                                 if (e)
                                   failure = classify(e);  // call_handler() catches all; this would be its own failure
                                 self->on_attempt_done(id, failure);
                               })));
}

void runner_core::on_attempt_done(std::uint64_t id, const attempt_failure& failure) {
  slot& s = *slots_.at(id);
  s.running = false;
  idle_strands_.push_back(std::move(s.strand));
  counters_->update([](auto& stats) { --stats.in_flight; });
  if (s.abandoned) {  // nak'ed at the deadline already
    slots_.erase(id);
    return check_settled();
  }
  if (!failure) {
    const auto since_stored = std::chrono::system_clock::now() - s.msg.metadata().timestamp;
    counters_->update([&](auto& stats) {
      ++stats.handled;
      stats.stream_to_handled.record(since_stored);
    });
    if (!processed_) return acknowledge_handled(id);
    // Recorded first, acknowledged after: a crash in between leaves it recorded, and skipped when it comes again.
    const auto& md = s.msg.metadata();
    return processed_->record(s.event_id, md.stream + "/" + std::to_string(md.stream_sequence),
                              [self = shared_from_this(), id](error_code ec) {
                                if (ec) {
                                  self->counters_->update([](auto& stats) { ++stats.processed_id_failures; });
                                  logger()->warn(
                                      "run {}/{}: recording event {} as processed failed: {}; acknowledged "
                                      "all the same (a redelivery would run its handler again)",
                                      self->core_->stream(), self->core_->name(),
                                      printable(self->slots_.at(id)->event_id), ec.message());
                                }
                                self->acknowledge_handled(id);
                              });
  }
  counters_->update([](auto& stats) { ++stats.failed_attempts; });
  on_failure(id, failure->first, failure->second);
}

void runner_core::acknowledge_handled(std::uint64_t id) {
  send_or_log(slots_.at(id)->msg, ack_kind::ack);
  release(id);
}

void runner_core::check_processed(std::uint64_t id) {
  processed_->seen(slots_.at(id)->event_id, [self = shared_from_this(), id](error_code ec, bool seen) {
    slot& s = *self->slots_.at(id);
    s.checked = true;
    auto& stats = *self->counters_;
    if (ec) {
      stats.update([](auto& c) { ++c.processed_id_failures; });
      logger()->warn("run {}/{}: looking up event {} in the processed-id store failed: {}; handled as without it",
                     self->core_->stream(), self->core_->name(), printable(s.event_id), ec.message());
    } else if (seen) {
      stats.update([](auto& c) { ++c.already_processed; });
      logger()->debug("run {}/{}: event {} (message {}) was processed before: acknowledged", self->core_->stream(),
                      self->core_->name(), printable(s.event_id), s.msg.metadata().stream_sequence);
      return self->acknowledge_handled(id);
    }
    if (self->stopping_) {  // draining: not started, so given back
      self->give_back(s);
      return self->release(id);
    }
    self->run_attempt(id);
  });
}

void runner_core::on_failure(std::uint64_t id, failure_kind kind, const std::string& text) {
  slot& s = *slots_.at(id);
  const auto& md = s.msg.metadata();
  const int attempt = std::max(s.msg.attempt(), 1);
  const auto decision =
      decide_after_failure(opts_.retry, kind, attempt, static_cast<int>(md.num_delivered), core_->max_deliver(),
                           !s.key.empty(), std::uniform_real_distribution<double>(0.0, 1.0)(random_));
  auto& stats = *counters_;
  switch (decision.action) {
    case failure_action::retry_here:
      logger()->warn("run {}/{}: message {} ({}) failed attempt {} of {}: {}; again in {} ms", core_->stream(),
                     core_->name(), md.stream_sequence, s.msg.subject(), attempt, opts_.retry.max_attempts, text,
                     decision.delay.count());
      stats.update([](auto& c) { ++c.retried; });
      if (stopping_) {  // draining: hand it over now, ahead of the rest of its lane
        give_back(s);
        return release(id);
      }
      s.waiting_retry = true;
      lanes_.pause(id);
      s.retry_timer = std::make_unique<boost::asio::steady_timer>(ex_, decision.delay);
      s.retry_timer->async_wait([self = shared_from_this(), id](error_code ec) {
        if (ec) return;
        auto it = self->slots_.find(id);
        if (it == self->slots_.end() || !it->second->waiting_retry) return;
        self->lanes_.resume(id);
        self->schedule();
      });
      return schedule();
    case failure_action::redeliver:
      logger()->warn("run {}/{}: message {} ({}) failed attempt {} of {}: {}; redelivery in {} ms", core_->stream(),
                     core_->name(), md.stream_sequence, s.msg.subject(), attempt, opts_.retry.max_attempts, text,
                     decision.delay.count());
      stats.update([](auto& c) { ++c.retried; });
      send_or_log(s.msg, ack_kind::nak, std::chrono::duration_cast<std::chrono::nanoseconds>(decision.delay));
      return release(id);
    case failure_action::dead_letter:
      if (opts_.dead_letter) return dead_letter(id, text);
      logger()->error(
          "run {}/{}: message {} ({}) failed for good and no dead-letter stream is set: terminated. "
          "Last failure: {}",
          core_->stream(), core_->name(), md.stream_sequence, s.msg.subject(), text);
      stats.update([](auto& c) { ++c.terminated; });
      send_or_log(s.msg, ack_kind::term);
      return release(id);
  }
}

void runner_core::dead_letter(std::uint64_t id, const std::string& text) {
  slot& s = *slots_.at(id);
  s.settling = true;
  ++dead_letters_pending_;
  const auto& md = s.msg.metadata();
  const failure_record failure{md.stream, s.msg.subject(), md.stream_sequence, md.consumer, md.num_delivered, text};
  publish_dead_letter(
      id, text,
      dead_letter_message(opts_.dead_letter->subject_prefix, s.msg.headers(), std::string(s.msg.data()), failure), 0);
}

// `cuts`: 0 as it is, 1 with its body cut to max_payload, 2 without its body.
void runner_core::publish_dead_letter(std::uint64_t id, const std::string& text, raw_message out, int cuts) {
  dlq_->publish_raw(out, [self = shared_from_this(), id, text, out, cuts](error_code ec, pub_ack ack) mutable {
    slot& s = *self->slots_.at(id);
    const auto seq = s.msg.metadata().stream_sequence;
    auto& stats = *self->counters_;
    const bool too_large = ec == errc::payload_too_large || ec == jetstream_errc::message_too_large;
    if (too_large && cuts < 2) {
      // Redelivering it would fail the same way for ever: the headers and what fits of the body go instead.
      const std::size_t limit = ec == errc::payload_too_large && cuts == 0
                                    ? static_cast<std::size_t>(self->core_->js().conn().info().max_payload)
                                    : 0;  // the DLQ stream's max_msg_size is not known here: the body goes
      const std::size_t body = out.data.size();
      if (auto cut = truncated_dead_letter(std::move(out), limit)) {
        logger()->warn(
            "run {}/{}: message {} is too large to dead-letter ({} bytes of body): dead-lettering its "
            "headers and {} bytes of it, marked Natscoro-Truncated",
            self->core_->stream(), self->core_->name(), seq, body, cut->data.size());
        return self->publish_dead_letter(id, text, std::move(*cut), limit == 0 ? 2 : 1);
      }
    }
    --self->dead_letters_pending_;
    s.settling = false;
    if (too_large) {
      stats.update([](auto& c) { ++c.terminated; });
      logger()->error(
          "run {}/{}: message {} ({}) cannot be dead-lettered even truncated ({}): terminated. "
          "Last failure: {}",
          self->core_->stream(), self->core_->name(), seq, s.msg.subject(), ec.message(), text);
      send_or_log(s.msg, ack_kind::term);
    } else if (ec) {
      // Never terminated without the DLQ's PubAck: redelivered later, and dead-lettered then.
      stats.update([](auto& c) { ++c.dead_letter_failures; });
      const auto delay = std::max(self->opts_.retry.nominal_delay(1), std::chrono::milliseconds(1000));
      logger()->error("run {}/{}: dead-lettering message {} failed: {}; nak'ed, redelivery in {} ms",
                      self->core_->stream(), self->core_->name(), seq, ec.message(), delay.count());
      send_or_log(s.msg, ack_kind::nak, std::chrono::duration_cast<std::chrono::nanoseconds>(delay));
    } else {
      stats.update([](auto& c) { ++c.dead_lettered; });
      logger()->warn("run {}/{}: message {} ({}) dead-lettered as {} #{}: {}", self->core_->stream(),
                     self->core_->name(), seq, s.msg.subject(), ack.stream, ack.sequence, text);
      send_or_log(s.msg, ack_kind::term);
      self->observe_dead_letter_queue();
    }
    self->release(id);
  });
}

void runner_core::release(std::uint64_t id) {
  lanes_.finish(id);
  slots_.erase(id);
  if (stopping_) {
    give_back_ready();
  } else {
    schedule();
    take();
  }
  update_gauges();
  check_settled();
}

void runner_core::begin_stop() {
  if (stopping_) return;
  stopping_ = true;
  logger()->info("run {}/{}: draining ({} running, {} queued)", core_->stream(), core_->name(), lanes_.running(),
                 lanes_.queued());
  deadline_.expires_at(core_->drain_deadline());
  deadline_.async_wait([weak = weak_from_this()](error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->on_deadline();
  });
  if (mover_running_)
    mover_->stop(
        std::max(std::chrono::duration_cast<std::chrono::milliseconds>(core_->drain_deadline() - steady::now()),
                 std::chrono::milliseconds(0)),
        [weak = weak_from_this()] {
          auto self = weak.lock();
          if (!self) return;
          self->mover_running_ = false;
          self->check_settled();
        });
  give_back_ready();
}

void runner_core::on_unsubscribed(std::vector<message> held) {
  unsubscribed_ = true;
  begin_stop();
  give_back_ready();                          // the runner's own queue first: it came before what the consumer holds
  for (auto& m : held) accept(std::move(m));  // each given back in turn, or behind its lane
  check_settled();
}

void runner_core::give_back(slot& s) {
  send_or_log(s.msg, ack_kind::nak, std::chrono::nanoseconds(0));
  counters_->update([](auto& stats) { ++stats.given_back; });
}

// Once the server can deliver nothing more to this instance: what waits for a
// retry first (each heads its lane), then what never started and has no running
// message ahead of it in its lane. The rest follows as those lanes finish.
void runner_core::give_back_ready() {
  if (!unsubscribed_) return;
  std::vector<std::uint64_t> waiting;
  for (auto& [id, s] : slots_)
    if (s->waiting_retry) waiting.push_back(id);
  for (auto id : waiting) {
    auto& s = *slots_.at(id);
    s.waiting_retry = false;
    s.retry_timer.reset();
    give_back(s);
    lanes_.finish(id);
    slots_.erase(id);
  }
  for (auto id : lanes_.take_queued()) {
    give_back(*slots_.at(id));
    slots_.erase(id);
  }
  update_gauges();
}

void runner_core::on_deadline() {
  std::size_t cancelled = 0;
  for (auto& [id, s] : slots_) {
    if (!s->running || s->abandoned) continue;
    s->abandoned = true;
    s->cancel.emit(boost::asio::cancellation_type::terminal);
    give_back(*s);
    lanes_.finish(id);
    ++cancelled;
  }
  if (cancelled > 0)
    logger()->warn("run {}/{}: drain deadline passed: {} handlers cancelled, their messages nak'ed", core_->stream(),
                   core_->name(), cancelled);
  give_back_ready();
  check_settled();
}

void runner_core::arm_keepalive() {
  // In-progress for every held message: queued ones and retries wait longer than ack_wait may allow.
  const auto period = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(core_->ack_wait()) / 2,
                                 std::chrono::milliseconds(100), std::chrono::milliseconds(15000));
  keepalive_.expires_after(period);
  keepalive_.async_wait([weak = weak_from_this()](error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->finished_) return;
    for (auto& [id, s] : self->slots_)
      if (!s->abandoned) send_or_log(s->msg, ack_kind::in_progress);
    if (self->opts_.dead_letter && steady::now() - self->dead_letter_observed_ >= dead_letter_observation_period)
      self->observe_dead_letter_queue();
    self->arm_keepalive();
  });
}

void runner_core::observe_dead_letter_queue() {
  dead_letter_observed_ = steady::now();
  access::api(core_->js())
      ->request("STREAM.INFO", {opts_.dead_letter->stream}, "",
                [weak = weak_from_this()](error_code ec, boost::json::value r) {
                  auto self = weak.lock();
                  if (!self || ec || !r.is_object()) return;
                  const auto* state = r.as_object().if_contains("state");
                  const auto* msgs = state && state->is_object() ? state->as_object().if_contains("messages") : nullptr;
                  if (msgs == nullptr || !msgs->is_number()) return;
                  error_code conversion;
                  const auto count = msgs->to_number<std::uint64_t>(conversion);
                  if (conversion) return;
                  self->counters_->update([count](auto& s) { s.dead_letter_queue_messages = count; });
                  self->check_alert(count);
                });
}

void runner_core::check_alert(std::uint64_t count) {
  const auto& dl = *opts_.dead_letter;
  if (dl.alert_threshold == 0 || !dl.on_alert) return;
  if (count <= dl.alert_threshold) {
    alerted_ = false;
  } else if (!alerted_) {
    alerted_ = true;
    logger()->warn("dead-letter stream {} holds {} messages (alert threshold {})", dl.stream, count,
                   dl.alert_threshold);
    dl.on_alert(count);
  }
}

void runner_core::update_gauges() {
  counters_->update([this](auto& stats) {
    stats.queued = lanes_.queued();
    stats.lane_high_water = lanes_.lane_high_water();
  });
}

void runner_core::check_settled() {
  if (finished_ || !stopping_ || !unsubscribed_ || taking_ || !slots_.empty() || dead_letters_pending_ > 0 ||
      mover_running_)
    return;
  finished_ = true;
  keepalive_.cancel();
  deadline_.cancel();
  dlq_.reset();
  processed_.reset();
  const auto stats = counters_->snapshot();
  logger()->info("run {}/{}: settled: {} handled, {} retried, {} dead-lettered, {} given back", core_->stream(),
                 core_->name(), stats.handled, stats.retried, stats.dead_lettered, stats.given_back);
  core_->detach_drain_participant();
  op_->complete(cancelled_ ? make_error_code(boost::asio::error::operation_aborted) : end_error_);
  self_.reset();
}

}  // namespace detail

runner_stats consumer::run_stats() const { return run_counters_ ? run_counters_->snapshot() : runner_stats{}; }

void consumer::async_run(consumer self, message_handler handler, const run_options& opts,
                         boost::asio::any_completion_handler<void(error_code)> h) {
  if (!self.core_) {
    auto op = detail::run_operation::create(std::move(h), boost::asio::system_executor());
    return void(op->complete(make_error_code(errc::not_connected)));
  }
  auto op = detail::run_operation::create(std::move(h), self.core_->js().get_executor());
  auto core = self.core_;
  auto counters = self.run_counters_;
  auto runner = std::make_shared<detail::runner_core>(std::move(self), std::move(core), std::move(counters),
                                                      std::move(handler), std::move(opts), op);
  runner->connect_cancellation();
  detail::on_strand(runner->executor(), [runner] { runner->start(); });
}

}  // namespace natscoro
