#include <natscoro/detail/last_handle.hpp>
#include <natscoro/detail/names.hpp>
#include <natscoro/detail/on_strand.hpp>
#include <natscoro/detail/outbox_core.hpp>
#include <natscoro/detail/prepared_publish.hpp>
#include <natscoro/detail/sqlite_spool.hpp>
#include <natscoro/logging.hpp>
#include <natscoro/outbox.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace natscoro {
namespace detail {
namespace {

namespace asio = boost::asio;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// How often a relay with work looks whether the link is back.
constexpr std::chrono::milliseconds link_poll{200};

// Failures that the same record meets every time: it is refused, not retried.
bool refusal(error_code ec) {
  return ec == errc::invalid_subject || ec == errc::payload_too_large || ec == errc::invalid_argument;
}

}  // namespace

// Publishes that arrive while a commit runs wait for the next one, and share it
// (group commit). The relay is a coroutine: claim a batch in order, publish it
// within the publisher's window, wait for the PubAcks, settle the claim (remove
// what was acknowledged); on failures, back off and claim again.
struct outbox_core::pass_result {
  std::vector<std::int64_t> acknowledged;
  std::vector<refused_record> refused;
  std::vector<std::int64_t> failed;
  std::uint64_t acknowledged_bytes = 0;
};

outbox_core::outbox_core(const jetstream& js, settings s, store_opener open_store)
    : settings_(std::move(s)),
      open_store_(std::move(open_store)),
      conn_(js.conn()),
      executor_(js.get_executor()),
      pub_(js, settings_.relay.publish),
      wake_(executor_),
      age_timer_(executor_),
      store_work_(asio::make_work_guard(store_io_)),
      store_thread_([this] { store_io_.run(); }) {}

outbox_core::~outbox_core() {
  store_work_.reset();
  store_io_.stop();
  if (store_thread_.get_id() == std::this_thread::get_id())
    store_thread_.detach();  // its last task held the last reference
  else
    store_thread_.join();
}

void outbox_core::open(std::function<void(error_code)> done) {
  struct opened {
    std::unique_ptr<outbox_store> store;
    error_code ec;
    std::string detail;
    outbox_summary summary;
  };
  on_store_thread(
      [this]() {
        opened result;
        result.store = open_store_(result.ec, result.detail);
        if (result.store) result.ec = result.store->summarize(result.summary, result.detail);
        return result;
      },
      [self = shared_from_this(), done = std::move(done)](opened result) {
        if (result.ec) {
          logger()->error("{}", result.detail);
          self->stopping_ = self->closed_ = true;
          return done(result.ec);
        }
        self->store_ = std::move(result.store);
        self->counters_.update([&](auto& c) {
          c.stats.pending = result.summary.count;
          c.stats.pending_bytes = result.summary.bytes;
          c.oldest_created_ns = result.summary.oldest_created_ns;
        });
        logger()->info("outbox {} opened: {} events pending", self->name(), result.summary.count);
        asio::co_spawn(self->executor_, self->relay(), asio::detached);
        self->watch_age();
        done({});
      });
}

void outbox_core::publish(std::string subject, event evt, const std::shared_ptr<done_operation>& op) {
  if (stopping_) return void(op->fail("outbox " + name() + " is closing", make_error_code(errc::closing)));
  const auto prepared = prepare(std::move(subject), std::move(evt));
  if (prepared->error) {
    const std::string text = "outbox " + name() + ": event " + prepared->event_id + " refused: " + prepared->detail;
    logger()->error("{}", text);
    return void(op->fail(text, prepared->error));
  }
  outbox_record r;
  r.id = prepared->event_id;
  r.subject = prepared->subject;
  r.headers = prepared->encoded.headers;
  r.body = prepared->encoded.body;
  r.created_ns = now_ns();
  const auto size = r.size();
  const auto pending_bytes = counters_.snapshot().stats.pending_bytes;
  if (settings_.max_bytes != 0 && pending_bytes + queued_bytes_ + size > settings_.max_bytes) {
    const std::string text = "outbox " + name() + ": full (" + std::to_string(pending_bytes + queued_bytes_) + " of " +
                             std::to_string(settings_.max_bytes) + " bytes pending); event " + r.id + " not stored";
    logger()->error("{}", text);
    return void(op->fail(text, make_error_code(errc::outbox_full)));
  }
  queued_bytes_ += size;
  queue_.push_back({std::move(r), op});
  commit();
}

std::shared_ptr<prepared_publish> outbox_core::prepare(std::string subject, event evt) {
  return pub_.prepare(std::move(subject), std::move(evt), {});
}

void outbox_core::close(const std::shared_ptr<done_operation>& op) {
  if (closed_) return void(op->complete({}));
  close_waiters_.push_back(op);
  stop();
}

// The last handle went, on whatever thread: stop relaying and close the store; nobody waits for it.
void outbox_core::close_in_background() {
  on_strand(executor_, [self = shared_from_this()] { self->stop(); });
}

outbox_stats outbox_core::stats() const {
  const auto c = counters_.snapshot();
  auto s = c.stats;
  if (c.oldest_created_ns != 0)
    s.oldest_pending_age =
        std::chrono::milliseconds(std::max<std::int64_t>(0, now_ns() - c.oldest_created_ns) / 1'000'000);
  return s;
}

void outbox_core::wake() {
  work_available_ = true;
  if (idle_) wake_.cancel();  // not a back-off: that waits out its time
}

void outbox_core::commit() {
  if (committing_ || queue_.empty() || !store_) return;
  committing_ = true;
  struct committed {
    std::vector<waiting> batch;
    error_code ec;
    std::string detail;
  };
  std::vector<outbox_record> records;
  records.reserve(queue_.size());
  for (auto& w : queue_) records.push_back(std::move(w.record));
  on_store_thread(
      [this, records = std::move(records)]() mutable {
        std::string detail;
        auto ec = store_->append(records, detail);
        return std::make_tuple(std::move(records), ec, std::move(detail));
      },
      [self = shared_from_this(), batch = std::exchange(queue_, {})](auto result) mutable {
        auto& [records, ec, detail] = result;
        for (std::size_t i = 0; i < batch.size(); ++i) batch[i].record = std::move(records[i]);
        self->on_committed(std::move(batch), ec, detail);
      });
}

void outbox_core::on_committed(std::vector<waiting> batch, error_code ec, const std::string& detail) {
  committing_ = false;
  std::uint64_t bytes = 0;
  for (const auto& w : batch) bytes += w.record.size();
  queued_bytes_ -= bytes;
  if (ec) {
    logger()->error("outbox {}: {} events not stored: {}", name(), batch.size(), detail);
  } else {
    counters_.update([&](auto& c) {
      ++c.stats.commits;
      c.stats.stored += batch.size();
      c.stats.pending += batch.size();
      c.stats.pending_bytes += bytes;
      if (c.oldest_created_ns == 0 && !batch.empty()) c.oldest_created_ns = batch.front().record.created_ns;
    });
    wake();
  }
  const std::string why = ec ? "outbox " + name() + ": not stored: " + detail : std::string();
  for (auto& w : batch) w.op->fail(why, ec);
  commit();  // what arrived meanwhile
  if (stopping_ && !relay_running_) finish_close();
}

void outbox_core::stop() {
  if (stopping_) return;
  stopping_ = true;
  if (on_stop_) std::exchange(on_stop_, {})();
  wake_.cancel();
  age_timer_.cancel();
  if (!relay_running_) finish_close();
}

// After the relay ended: the waiting publishes are committed first, then the store is closed.
void outbox_core::finish_close() {
  if (committing_ || !queue_.empty()) return commit();  // on_committed() comes back here
  if (std::exchange(closing_store_, true)) return;
  on_store_thread(
      [this]() {
        store_.reset();
        return 0;
      },
      [self = shared_from_this()](int) {
        self->closed_ = true;
        logger()->info("outbox {} closed: {} events pending", self->name(), self->counters_.snapshot().stats.pending);
        for (auto& op : std::exchange(self->close_waiters_, {})) op->complete({});
      });
}

// The result of a store call that runs while the relay does something else.
template <class T>
class outbox_core::store_future {
 public:
  explicit store_future(const asio::any_io_executor& ex) : ready_(ex, std::chrono::steady_clock::time_point::max()) {}
  void set(T value) {
    value_ = std::move(value);
    ready_.cancel();
  }
  asio::awaitable<T> get() {
    while (!value_) co_await ready_.async_wait(asio::as_tuple(asio::use_awaitable));
    co_return std::move(*value_);
  }

 private:
  std::optional<T> value_;
  asio::steady_timer ready_;
};

struct outbox_core::claimed {
  std::vector<outbox_record> records;
  error_code ec;
  std::string detail;
};

// What is committed from now on may be missed by this claim: the next wake() says so.
std::shared_ptr<outbox_core::store_future<outbox_core::claimed>> outbox_core::start_claim() {
  work_available_ = false;
  auto future = std::make_shared<store_future<claimed>>(executor_);
  on_store_thread(
      [this, limit = settings_.relay.relay_batch]() {
        claimed c;
        c.ec = store_->claim(limit, c.records, c.detail);
        return c;
      },
      [future](claimed c) { future->set(std::move(c)); });
  return future;
}

// Ends a pass's claim on the outbox's thread; the statistics follow on the executor.
std::shared_ptr<outbox_core::store_future<bool>> outbox_core::settle(std::shared_ptr<pass_result> results) {
  struct settled {
    error_code ec;
    std::string detail;
    std::int64_t oldest_created_ns = 0;
  };
  auto done = std::make_shared<store_future<bool>>(executor_);
  on_store_thread(
      [this, results]() {
        settled s;
        s.ec = store_->settle(results->acknowledged, results->refused, results->failed, s.oldest_created_ns, s.detail);
        return s;
      },
      [self = shared_from_this(), results, done](settled s) {
        if (s.ec) {
          // Relayed but still in the store: they go again (the stream drops them as duplicates).
          logger()->error("outbox {}: relayed events not removed: {}", self->name(), s.detail);
        } else {
          self->counters_.update([&](auto& c) {
            auto& stats = c.stats;
            const auto gone = results->acknowledged.size() + results->refused.size();
            stats.relayed += results->acknowledged.size();
            stats.refused += results->refused.size();
            stats.pending -= std::min<std::uint64_t>(stats.pending, gone);
            stats.pending_bytes -= std::min(stats.pending_bytes, results->acknowledged_bytes);
            c.oldest_created_ns = s.oldest_created_ns;
          });
        }
        done->set(true);
      });
  return done;
}

// One pass: claim a batch (or take the one read ahead), publish it within the
// publisher's window, read the next batch while the PubAcks come in (stores
// that allow it), then settle: remove what was acknowledged, in the background
// when all was. On failures, back off and claim again from the first failure.
asio::awaitable<void> outbox_core::relay() {
  auto self = shared_from_this();
  relay_running_ = true;
  std::chrono::milliseconds backoff{0};
  const auto poll = settings_.shared_store_poll;
  const std::size_t limit = settings_.relay.relay_batch;
  std::shared_ptr<store_future<claimed>> ahead;  // the next batch, read while this one was published
  while (!stopping_) {
    if (!ahead && !work_available_) {
      idle_ = true;
      wake_.expires_after(poll.count() > 0 ? poll : std::chrono::hours(24));
      co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
      idle_ = false;
      if (poll.count() > 0) work_available_ = true;  // another writer may have added some
      continue;
    }
    if (!ahead && !conn_.is_connected()) {  // publishing now would only fail after the publisher's retries
      co_await pause(link_poll);
      continue;
    }
    claimed batch = co_await (ahead ? ahead : start_claim())->get();
    ahead.reset();
    if (batch.ec) {
      backoff = next_backoff(backoff);
      logger()->error("outbox {}: {}; again in {} ms", name(), batch.detail, backoff.count());
      co_await pause(backoff);
      work_available_ = true;
      continue;
    }
    if (batch.records.size() == limit) work_available_ = true;  // more behind it

    auto results = std::make_shared<pass_result>();
    std::size_t next = 0;
    for (; next < batch.records.size() && !stopping_; ++next) {
      auto& r = batch.records[next];
      if (r.unusable.empty() && reserved_subject(r.subject))
        r.unusable = "\"" + r.subject + "\" is a server or reply subject, not an event's";
      if (!r.unusable.empty()) {
        results->refused.push_back({r.seq, std::move(r.unusable)});
        continue;
      }
      if (!pub_.has_room()) co_await pub_.wait_for_room(asio::as_tuple(asio::use_awaitable));
      const std::uint64_t bytes = r.size();
      raw_message m;
      m.subject = std::move(r.subject);
      m.headers = std::move(r.headers);
      m.data = std::move(r.body);
      m.id = std::move(r.id);
      pub_.publish_raw(std::move(m), [results, seq = r.seq, bytes](error_code ec, pub_ack) {
        if (!ec) {
          results->acknowledged.push_back(seq);
          results->acknowledged_bytes += bytes;
        } else if (refusal(ec)) {
          results->refused.push_back({seq, ec.message()});
        } else {
          results->failed.push_back(seq);
        }
      });
    }
    for (; next < batch.records.size(); ++next)  // not sent (closing): claimed again next time
      results->failed.push_back(batch.records[next].seq);
    if (work_available_ && !stopping_ && store_->reads_ahead()) ahead = start_claim();
    co_await pub_.flush(asio::as_tuple(asio::use_awaitable));
    for (const auto& r : results->refused)
      logger()->error("outbox {}: event #{} will not be published ({}); it stays in the store, marked refused", name(),
                      r.seq, r.reason);
    if (results->failed.empty()) {
      backoff = std::chrono::milliseconds(0);
      settle(results);  // in the background: the next batch goes meanwhile
      continue;
    }
    if (ahead) co_await ahead->get();  // read past a failure: dropped, claimed again after it
    ahead.reset();
    co_await settle(results)->get();
    counters_.update([&](auto& c) { c.stats.failed += results->failed.size(); });
    backoff = next_backoff(backoff);
    logger()->warn("outbox {}: {} events not relayed (NATS unreachable?); again in {} ms", name(),
                   results->failed.size(), backoff.count());
    if (!stopping_) co_await pause(backoff);
    work_available_ = true;
  }
  if (ahead) co_await ahead->get();  // the store stays until its claim is done
  relay_running_ = false;
  finish_close();
}

std::chrono::milliseconds outbox_core::next_backoff(std::chrono::milliseconds last) const {
  return std::min(settings_.relay.max_backoff, std::max(std::chrono::milliseconds(100), last * 2));
}

// Waits `d`, or less if the outbox is closed meanwhile.
asio::awaitable<void> outbox_core::pause(std::chrono::milliseconds d) {
  wake_.expires_after(d);
  co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
}

// Reads the pending count of a store that others write too (the relay's own
// accounting would miss their rows).
void outbox_core::refresh_summary() {
  if (summarizing_ || !store_ || stopping_) return;
  summarizing_ = true;
  struct summarized {
    outbox_summary summary;
    error_code ec;
    std::string detail;
    std::chrono::steady_clock::duration took{};
  };
  on_store_thread(
      [this]() {
        summarized s;
        const auto start = std::chrono::steady_clock::now();
        s.ec = store_ ? store_->summarize(s.summary, s.detail) : make_error_code(errc::closing);
        s.took = std::chrono::steady_clock::now() - start;
        return s;
      },
      [self = shared_from_this()](summarized s) {
        self->summarizing_ = false;
        // Counting a large table costs (25 ms for 100,000 rows): at most 2% of the time.
        self->next_summary_ = std::chrono::steady_clock::now() + std::max<std::chrono::steady_clock::duration>(
                                                                     self->settings_.shared_store_poll, 50 * s.took);
        if (s.ec) return;  // the relay reports the store's failures
        self->counters_.update([&](auto& c) {
          c.stats.pending = s.summary.count;
          c.stats.pending_bytes = s.summary.bytes;
          c.oldest_created_ns = s.summary.oldest_created_ns;
        });
      });
}

// Checks the oldest pending event's age a few times per alert_age (at most every
// second), whatever the relay is doing (a pass can take the publisher's whole retry
// time); a shared store's summary is read again on the same beat.
void outbox_core::watch_age() {
  if (stopping_) return;
  const auto alert_age = settings_.relay.alert_age;
  const bool alerting = alert_age.count() > 0 && settings_.relay.on_alert;
  const bool shared = settings_.shared_store_poll.count() > 0;
  if (!alerting && !shared) return;
  if (shared && std::chrono::steady_clock::now() >= next_summary_) refresh_summary();
  auto every = std::chrono::milliseconds(1000);
  if (alerting) {
    const auto now = stats();
    const auto age = now.oldest_pending_age;
    const bool over = now.pending > 0 && age > alert_age;
    if (over && !alerted_) settings_.relay.on_alert(age);
    alerted_ = over;
    every = std::min(every, alert_age / 4 + std::chrono::milliseconds(1));
  }
  if (shared) every = std::min(every, settings_.shared_store_poll);
  age_timer_.expires_after(every);
  age_timer_.async_wait([weak = weak_from_this()](error_code ec) {
    if (auto self = weak.lock(); self && !ec) self->watch_age();
  });
}

}  // namespace detail

namespace detail {
namespace {
using outbox_owner = last_handle<outbox_core, &outbox_core::close_in_background>;
}

outbox_handle::outbox_handle(std::shared_ptr<outbox_core> core)
    : owner_(std::make_shared<outbox_owner>(core)), core_(std::move(core)) {}

void outbox_handle::async_publish(const std::shared_ptr<outbox_core>& core, std::string subject, event evt,
                                  boost::asio::any_completion_handler<void(error_code)> handler) {
  auto op = outbox_core::done_operation::create(std::move(handler), core->get_executor());
  op->complete_on_terminal_cancel();
  on_strand(core->get_executor(), [core, subject = std::move(subject), evt = std::move(evt), op]() mutable {
    core->publish(std::move(subject), std::move(evt), op);
  });
}

void outbox_handle::async_close(const std::shared_ptr<outbox_core>& core,
                                boost::asio::any_completion_handler<void(error_code)> handler) {
  auto op = outbox_core::done_operation::create(std::move(handler), core->get_executor());
  op->complete_on_terminal_cancel();
  on_strand(core->get_executor(), [core, op] { core->close(op); });
}

outbox_stats outbox_handle::stats() const { return core_->stats(); }

}  // namespace detail

void outbox::async_open(const jetstream& js, outbox_options opts,
                        boost::asio::any_completion_handler<void(error_code, outbox)> handler) {
  auto op = detail::pending_operation<void(error_code, outbox)>::create(std::move(handler), js.get_executor());
  op->complete_on_terminal_cancel();
  detail::outbox_core::settings s{opts.path, opts, opts.max_bytes, {}};
  auto core = std::make_shared<detail::outbox_core>(
      js, std::move(s), [path = opts.path, full = opts.synchronous_full](error_code& ec, std::string& detail) {
        return std::unique_ptr<detail::outbox_store>(detail::sqlite_spool::open(path, full, ec, detail));
      });
  core->open([op, core](error_code ec) { op->complete(ec, ec ? outbox{} : outbox(core)); });
}

}  // namespace natscoro
