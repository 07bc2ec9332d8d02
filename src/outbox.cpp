#include <natscoro/detail/last_handle.hpp>
#include <natscoro/detail/pending_operation.hpp>
#include <natscoro/detail/prepared_publish.hpp>
#include <natscoro/detail/sqlite_spool.hpp>
#include <natscoro/logging.hpp>
#include <natscoro/outbox.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <optional>
#include <thread>

namespace natscoro {
namespace detail {
namespace {

namespace asio = boost::asio;
using open_operation = pending_operation<void(error_code, outbox)>;
using done_operation = pending_operation<void(error_code)>;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// The outbox's state lives on the connection's executor; the SQLite file is used
// only on the outbox's own thread (a commit waits for fsync). Publishes that
// arrive while a commit runs wait for the next one, and share it (group commit).
// The relay is a coroutine: read a batch in order, publish it within the
// publisher's window, wait for the PubAcks, remove what was acknowledged; on
// failures, back off and read again from the first event that failed.
class outbox_core : public std::enable_shared_from_this<outbox_core> {
 public:
  outbox_core(const jetstream& js, outbox_options opts)
      : opts_(std::move(opts)),
        conn_(js.conn()),
        executor_(js.get_executor()),
        pub_(js, opts_.publish),
        wake_(executor_),
        age_timer_(executor_),
        spool_work_(asio::make_work_guard(spool_io_)),
        spool_thread_([this] { spool_io_.run(); }) {}

  ~outbox_core() {
    spool_work_.reset();
    spool_io_.stop();
    if (spool_thread_.get_id() == std::this_thread::get_id())
      spool_thread_.detach();  // its last task held the last reference
    else
      spool_thread_.join();
  }

  void open(const std::shared_ptr<open_operation>& op) {
    on_spool(
        [this]() {
          opened result;
          result.spool = sqlite_spool::open(opts_.path, opts_.synchronous_full, result.ec, result.detail);
          if (result.spool) result.ec = result.spool->summarize(result.summary, result.detail);
          return result;
        },
        [self = shared_from_this(), op](opened result) {
          if (result.ec) {
            logger()->error("{}", result.detail);
            return void(op->complete(result.ec, outbox{}));
          }
          self->spool_ = std::move(result.spool);
          self->stats_.pending = result.summary.count;
          self->stats_.pending_bytes = result.summary.bytes;
          self->oldest_created_ns_ = result.summary.oldest_created_ns;
          logger()->info("outbox {} opened: {} events pending", self->opts_.path, result.summary.count);
          asio::co_spawn(self->executor_, self->relay(), asio::detached);
          self->watch_age();
          op->complete({}, outbox(std::make_shared<outbox_handle>(self), self));
        });
  }

  void publish(std::string subject, event evt, done_operation::handler_type handler) {
    auto op = done_operation::create(std::move(handler), executor_);
    if (stopping_) return void(op->complete(make_error_code(errc::closing)));
    const auto prepared = pub_.prepare(std::move(subject), std::move(evt), {}, false);
    if (prepared->error) {
      logger()->error("outbox: event {} refused: {}", prepared->event_id, prepared->detail);
      return void(op->complete(prepared->error));
    }
    sqlite_spool::record r;
    r.id = prepared->event_id;
    r.subject = prepared->subject;
    r.headers = prepared->encoded.headers;
    r.body = prepared->encoded.body;
    r.created_ns = now_ns();
    const auto size = r.size();
    if (stats_.pending_bytes + queued_bytes_ + size > opts_.max_bytes) {
      logger()->error("outbox {}: full ({} of {} bytes pending); event {} not stored", opts_.path,
                      stats_.pending_bytes + queued_bytes_, opts_.max_bytes, r.id);
      return void(op->complete(make_error_code(errc::outbox_full)));
    }
    queued_bytes_ += size;
    queue_.push_back({std::move(r), op});
    commit();
  }

  void close(done_operation::handler_type handler) {
    auto op = done_operation::create(std::move(handler), executor_);
    if (closed_) return void(op->complete({}));
    close_waiters_.push_back(op);
    stop();
  }

  // The last handle went: stop relaying and close the file; nobody waits for it.
  void close_in_background() { stop(); }

  outbox_stats stats() const {
    auto s = stats_;
    if (oldest_created_ns_ != 0)
      s.oldest_pending_age = std::chrono::milliseconds((now_ns() - oldest_created_ns_) / 1'000'000);
    return s;
  }

 private:
  using outbox_handle = last_handle<outbox_core, &outbox_core::close_in_background>;

  struct opened {
    std::unique_ptr<sqlite_spool> spool;
    error_code ec;
    std::string detail;
    sqlite_spool::summary summary;
  };
  struct waiting {
    sqlite_spool::record record;
    std::shared_ptr<done_operation> op;
  };
  struct committed {
    std::vector<waiting> batch;
    error_code ec;
    std::string detail;
  };
  struct read_result {
    std::vector<sqlite_spool::record> records;
    error_code ec;
    std::string detail;
  };
  struct removed {
    error_code ec;
    std::string detail;
    std::int64_t oldest_created_ns = 0;
  };
  // What the PubAcks of one relay pass said.
  struct pass {
    std::vector<std::int64_t> acknowledged;
    std::int64_t first_failed = 0;  ///< 0: none failed
    std::uint64_t acknowledged_bytes = 0;
  };

  // Runs `work` on the outbox's thread, then `done(result)` on the executor.
  template <class Work, class Done>
  void on_spool(Work work, Done done) {
    auto back = asio::prefer(executor_, asio::execution::outstanding_work.tracked);
    asio::post(spool_io_, [work = std::move(work), done = std::move(done), back]() mutable {
      auto result = work();
      asio::post(back, [done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
    });
  }

  // on_spool() for the relay coroutine.
  template <class Work>
  asio::awaitable<std::invoke_result_t<Work>> spool_call(Work work) {
    using result_type = std::invoke_result_t<Work>;
    auto self = shared_from_this();
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(result_type)>(
        [self, work = std::move(work)](auto handler) mutable {
          self->on_spool(std::move(work), [handler = std::move(handler)](result_type r) mutable {
            std::move(handler)(std::move(r));
          });
        },
        asio::use_awaitable);
  }

  void commit() {
    if (committing_ || queue_.empty() || !spool_) return;
    committing_ = true;
    auto batch = std::move(queue_);
    queue_.clear();
    on_spool(
        [this, batch = std::move(batch)]() mutable {
          committed c;
          std::vector<sqlite_spool::record> records;
          records.reserve(batch.size());
          for (auto& w : batch) records.push_back(std::move(w.record));
          c.ec = spool_->append(records, c.detail);
          for (std::size_t i = 0; i < batch.size(); ++i) batch[i].record = std::move(records[i]);
          c.batch = std::move(batch);
          return c;
        },
        [self = shared_from_this()](committed c) { self->on_committed(std::move(c)); });
  }

  void on_committed(committed c) {
    committing_ = false;
    std::uint64_t bytes = 0;
    for (const auto& w : c.batch) bytes += w.record.size();
    queued_bytes_ -= bytes;
    if (c.ec) {
      logger()->error("outbox {}: {} events not stored: {}", opts_.path, c.batch.size(), c.detail);
    } else {
      ++stats_.commits;
      stats_.stored += c.batch.size();
      stats_.pending += c.batch.size();
      stats_.pending_bytes += bytes;
      if (oldest_created_ns_ == 0 && !c.batch.empty()) oldest_created_ns_ = c.batch.front().record.created_ns;
      work_available_ = true;
      if (idle_) wake_.cancel();  // not a back-off: that waits out its time
    }
    for (auto& w : c.batch) w.op->complete(c.ec);
    commit();  // what arrived meanwhile
    if (stopping_ && !relay_running_) finish_close();
  }

  void stop() {
    if (stopping_) return;
    stopping_ = true;
    wake_.cancel();
    age_timer_.cancel();
    if (!relay_running_) finish_close();
  }

  // After the relay ended: the waiting publishes are committed first, then the file is closed.
  void finish_close() {
    if (committing_ || !queue_.empty()) return commit();  // on_committed() comes back here
    if (std::exchange(closing_file_, true)) return;
    on_spool(
        [this]() {
          spool_.reset();
          return 0;
        },
        [self = shared_from_this()](int) {
          self->closed_ = true;
          logger()->info("outbox {} closed: {} events pending", self->opts_.path, self->stats_.pending);
          for (auto& op : std::exchange(self->close_waiters_, {})) op->complete({});
        });
  }

  asio::awaitable<void> relay() {
    auto self = shared_from_this();
    relay_running_ = true;
    std::int64_t cursor = 0;  // the highest seq read and not failed
    std::chrono::milliseconds backoff{0};
    while (!stopping_) {
      if (!work_available_) {
        idle_ = true;
        wake_.expires_after(std::chrono::hours(24));
        co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
        idle_ = false;
        continue;
      }
      if (!conn_.is_connected()) {  // publishing now would only fail after the publisher's retries
        co_await pause(link_poll);
        continue;
      }
      work_available_ = false;
      const std::size_t limit = opts_.relay_batch;
      auto read = [this, cursor, limit]() {
        read_result r;
        r.ec = spool_->read(cursor, limit, r.records, r.detail);
        return r;
      };
      read_result batch = co_await spool_call(std::move(read));
      if (batch.ec) {
        logger()->error("outbox {}: {}", opts_.path, batch.detail);
        backoff = next_backoff(backoff);
        co_await pause(backoff);
        work_available_ = true;
        continue;
      }
      if (batch.records.empty()) continue;
      if (batch.records.size() == limit) work_available_ = true;  // more behind it

      auto results = std::make_shared<pass>();
      for (auto& r : batch.records) {
        if (stopping_) break;
        if (!pub_.has_room()) co_await pub_.wait_for_room(asio::as_tuple(asio::use_awaitable));
        const std::uint64_t bytes = r.size();
        raw_message m;
        m.subject = std::move(r.subject);
        m.headers = std::move(r.headers);
        m.data = std::move(r.body);
        m.id = std::move(r.id);
        pub_.publish_raw(std::move(m), [results, seq = r.seq, bytes](error_code ec, pub_ack) {
          if (ec) {
            if (results->first_failed == 0 || seq < results->first_failed) results->first_failed = seq;
            return;
          }
          results->acknowledged.push_back(seq);
          results->acknowledged_bytes += bytes;
        });
      }
      co_await pub_.flush(asio::as_tuple(asio::use_awaitable));

      auto acknowledged = results->acknowledged;
      auto remove = [this, acknowledged]() {
        removed out;
        out.ec = spool_->remove(acknowledged, out.detail);
        if (!out.ec) out.ec = spool_->oldest(out.oldest_created_ns, out.detail);
        return out;
      };
      removed gone = co_await spool_call(std::move(remove));
      if (gone.ec) {
        // Relayed but still in the file: they go again (the stream drops them as duplicates).
        logger()->error("outbox {}: relayed events not removed: {}", opts_.path, gone.detail);
      } else {
        stats_.relayed += acknowledged.size();
        stats_.pending -= std::min<std::uint64_t>(stats_.pending, acknowledged.size());
        stats_.pending_bytes -= std::min(stats_.pending_bytes, results->acknowledged_bytes);
        oldest_created_ns_ = gone.oldest_created_ns;
      }
      const std::size_t failures = batch.records.size() - acknowledged.size();
      if (results->first_failed != 0 || failures > 0) {
        stats_.failed += failures;
        cursor = results->first_failed != 0 ? results->first_failed - 1 : cursor;
        backoff = next_backoff(backoff);
        logger()->warn("outbox {}: {} events not relayed (NATS unreachable?); again in {} ms", opts_.path, failures,
                       backoff.count());
        if (!stopping_) co_await pause(backoff);
        work_available_ = true;
      } else {
        backoff = std::chrono::milliseconds(0);
        cursor = batch.records.back().seq;
      }
    }
    relay_running_ = false;
    finish_close();
  }

  std::chrono::milliseconds next_backoff(std::chrono::milliseconds last) const {
    return std::min(opts_.max_backoff, std::max(std::chrono::milliseconds(100), last * 2));
  }

  // Waits `d`, or less if the outbox is closed meanwhile.
  asio::awaitable<void> pause(std::chrono::milliseconds d) {
    wake_.expires_after(d);
    co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
  }

  // Checks the oldest pending event's age a few times per alert_age (at most every second),
  // whatever the relay is doing (a pass can take the publisher's whole retry time).
  void watch_age() {
    if (opts_.alert_age.count() <= 0 || !opts_.on_alert || stopping_) return;
    const auto age = stats().oldest_pending_age;
    const bool over = stats_.pending > 0 && age > opts_.alert_age;
    if (over && !alerted_) opts_.on_alert(age);
    alerted_ = over;
    const auto every = opts_.alert_age / 4 + std::chrono::milliseconds(1);
    age_timer_.expires_after(std::min<std::chrono::milliseconds>(std::chrono::seconds(1), every));
    age_timer_.async_wait([weak = weak_from_this()](error_code ec) {
      if (auto self = weak.lock(); self && !ec) self->watch_age();
    });
  }

  // How often a relay with work looks whether the link is back.
  static constexpr std::chrono::milliseconds link_poll{200};

  outbox_options opts_;
  connection conn_;
  asio::any_io_executor executor_;
  publisher pub_;
  asio::steady_timer wake_;       // the relay's idle wait and back-off; cancelled to wake it
  asio::steady_timer age_timer_;  // watch_age()
  bool work_available_ = true;
  bool relay_running_ = false;
  bool stopping_ = false;
  bool closed_ = false;
  bool closing_file_ = false;
  bool idle_ = false;  // the relay waits for work (not a back-off)
  bool alerted_ = false;
  bool committing_ = false;
  std::vector<waiting> queue_;
  std::uint64_t queued_bytes_ = 0;
  std::int64_t oldest_created_ns_ = 0;
  outbox_stats stats_;
  std::vector<std::shared_ptr<done_operation>> close_waiters_;

  // The outbox's own thread, and the file it alone touches.
  asio::io_context spool_io_;
  asio::executor_work_guard<asio::io_context::executor_type> spool_work_;
  std::unique_ptr<sqlite_spool> spool_;
  std::thread spool_thread_;
};

}  // namespace detail

void outbox::async_open(const jetstream& js, outbox_options opts,
                        boost::asio::any_completion_handler<void(error_code, outbox)> handler) {
  auto op = detail::open_operation::create(std::move(handler), js.get_executor());
  std::make_shared<detail::outbox_core>(js, std::move(opts))->open(op);
}

void outbox::async_publish(const std::shared_ptr<detail::outbox_core>& core, std::string subject, event evt,
                           boost::asio::any_completion_handler<void(error_code)> handler) {
  core->publish(std::move(subject), std::move(evt), std::move(handler));
}

void outbox::async_close(const std::shared_ptr<detail::outbox_core>& core,
                         boost::asio::any_completion_handler<void(error_code)> handler) {
  core->close(std::move(handler));
}

outbox_stats outbox::stats() const { return core_->stats(); }

}  // namespace natscoro
