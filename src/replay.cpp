#include <natscoro/detail/last_handle.hpp>
#include <natscoro/detail/on_strand.hpp>
#include <natscoro/detail/pending_operation.hpp>
#include <natscoro/detail/replay_cursor.hpp>
#include <natscoro/detail/shared_stats.hpp>
#include <natscoro/logging.hpp>
#include <natscoro/replay.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <vector>

namespace natscoro {
namespace detail {
namespace {

// How long next() waits for a delivery before asking the server whether anything
// is left (the range may end in deleted messages, or deliveries may be lost).
constexpr auto quiet_interval = std::chrono::seconds(1);

}  // namespace

using replay_next_operation = pending_operation<void(error_code, std::optional<message>)>;
using replay_close_operation = pending_operation<void(error_code)>;

/// Lives on the connection's executor. One consumer at a time; a new one (after
/// the last message handed out) whenever the cursor sees a gap or the consumer is lost.
class replay_core : public std::enable_shared_from_this<replay_core> {
 public:
  replay_core(jetstream js, std::string stream, replay_options opts, replay_cursor cursor)
      : js_(std::move(js)),
        stream_(std::move(stream)),
        opts_(std::move(opts)),
        cursor_(std::move(cursor)),
        quiet_(js_.get_executor()) {
    stats_.update([this](auto& s) { s.end_sequence = cursor_.end_sequence(); });
  }

  /// Creates the first consumer; `done` runs once it exists (or failed).
  void start(std::function<void(error_code)> done) {
    if (cursor_.empty()) {
      phase_ = phase::ended;
      return done({});
    }
    start_consumer(std::move(done));
  }

  /// In the initiating call: any type of cancellation completes `op` (on the strand).
  void connect_cancellation(const std::shared_ptr<replay_next_operation>& op) {
    op->on_cancel(boost::asio::cancellation_type::all, [weak = weak_from_this(), op] {
      auto self = weak.lock();
      if (!self || self->waiter_ != op) return;
      self->waiter_.reset();
      op->complete(boost::asio::error::operation_aborted, std::nullopt);
      if (self->pulling_) self->pull_cancel_.emit(boost::asio::cancellation_type::terminal);
    });
  }

  void next(const std::shared_ptr<replay_next_operation>& op) {
    if (!op->pending()) return;  // cancelled before it reached the strand
    if (waiter_) {
      logger()->error("replay of {}: next() called while another next() is pending", stream_);
      return void(op->complete(make_error_code(errc::invalid_argument), std::nullopt));
    }
    if (phase_ == phase::ended) return void(op->complete({}, std::nullopt));
    waiter_ = op;
    pull();
  }

  void close(const std::shared_ptr<replay_close_operation>& op) {
    if (phase_ == phase::ended) return void(op->complete({}));
    closers_.push_back(std::move(op));
    finish();
  }

  /// The last handle is gone, on whatever thread.
  void close_in_background() {
    boost::asio::post(js_.get_executor(), [self = shared_from_this()] { self->finish(); });
  }

  replay_stats stats() const { return stats_.snapshot(); }
  boost::asio::any_io_executor executor() const { return js_.get_executor(); }

 private:
  enum class phase { running, ending, ended };

  void start_consumer(std::function<void(error_code)> done) {
    starting_ = true;
    consumer_options o;
    o.capacity = opts_.capacity;
    o.envelope = opts_.envelope;
    js_.ephemeral_consumer(stream_, cursor_.next_consumer(opts_.inactive_threshold), o,
                           [self = shared_from_this(), done = std::move(done)](error_code ec, consumer c) {
                             self->starting_ = false;
                             if (!ec) self->consumer_ = std::move(c);
                             if (self->phase_ == phase::ending) self->delete_and_end();  // closed meanwhile
                             done(ec);
                           });
  }

  void pull() {
    if (!waiter_ || pulling_ || starting_ || phase_ != phase::running) return;
    if (!consumer_) {
      return start_consumer([self = shared_from_this()](error_code ec) {
        if (ec) return self->complete(ec, std::nullopt);
        self->pull();
      });
    }
    pulling_ = true;
    consumer_->next(boost::asio::bind_cancellation_slot(
        pull_cancel_.slot(),
        [self = shared_from_this()](error_code ec, std::optional<message> m) { self->on_delivery(ec, std::move(m)); }));
    arm_quiet_check();
  }

  void on_delivery(error_code ec, std::optional<message> m) {
    pulling_ = false;
    quiet_.cancel();
    if (phase_ != phase::running) return;
    if (ec == boost::asio::error::operation_aborted) return pull();  // the caller's cancellation, or a restart
    if (ec == jetstream_errc::consumer_not_found) return restart("its consumer is gone");
    if (ec) return complete(ec, std::nullopt);
    if (!m) return restart("its consumer stopped");
    switch (cursor_.on_delivery(m->metadata())) {
      case replay_cursor::verdict::gap:
        return restart("deliveries were lost");
      case replay_cursor::verdict::past_end:
        return finish();
      case replay_cursor::verdict::hand_out:
        stats_.update([](auto& s) { ++s.delivered; });
        return complete({}, std::move(m));
      case replay_cursor::verdict::hand_out_last:
        stats_.update([](auto& s) { ++s.delivered; });
        complete({}, std::move(m));
        return finish();
    }
  }

  void arm_quiet_check() {
    quiet_.expires_after(quiet_interval);
    quiet_.async_wait([weak = weak_from_this()](error_code ec) {
      auto self = weak.lock();
      if (ec || !self || !self->pulling_) return;
      self->check_quiet();
    });
  }

  void check_quiet() {
    const std::string name = consumer_->name();
    js_.consumer_info(stream_, name, [self = shared_from_this(), name](error_code ec, consumer_info info) {
      if (!self->pulling_ || self->phase_ != phase::running || !self->consumer_ || self->consumer_->name() != name)
        return;
      if (ec == jetstream_errc::consumer_not_found) return self->restart("its consumer is gone");
      if (ec) return self->arm_quiet_check();  // asked again after the next quiet spell
      switch (self->cursor_.on_quiet(info.num_pending, info.delivered_consumer_sequence)) {
        case replay_cursor::quiet_verdict::wait:
          return self->arm_quiet_check();
        case replay_cursor::quiet_verdict::gap:
          return self->restart("deliveries were lost");
        case replay_cursor::quiet_verdict::finished:
          return self->finish();
      }
    });
  }

  void restart(const char* why) {
    logger()->warn("replay of {}: {}; going on from sequence {} with a new consumer", stream_, why,
                   cursor_.last_handed_out() + 1);
    stats_.update([](auto& s) { ++s.restarts; });
    if (const auto name = drop_consumer(); !name.empty())
      js_.delete_consumer(stream_, name, [](error_code) {});  // else the inactive threshold removes it
    cursor_.restarted();
    pull();
  }

  /// Stops the current consumer (not on the server); returns its name, empty if there was none.
  std::string drop_consumer() {
    if (pulling_) pull_cancel_.emit(boost::asio::cancellation_type::terminal);
    if (!consumer_) return {};
    std::string name = consumer_->name();
    consumer_->stop();
    consumer_.reset();
    return name;
  }

  void finish() {
    if (phase_ != phase::running) return;
    phase_ = phase::ending;
    quiet_.cancel();
    if (!starting_) delete_and_end();  // else once the consumer being created exists
  }

  void delete_and_end() {
    const std::string name = drop_consumer();
    if (name.empty()) return ended();
    js_.delete_consumer(stream_, name, [self = shared_from_this(), name](error_code ec) {
      if (ec && ec != jetstream_errc::consumer_not_found)
        logger()->warn("replay of {}: deleting consumer {} failed ({}); the server removes it after {} s idle",
                       self->stream_, name, ec.message(), self->opts_.inactive_threshold.count());
      self->ended();
    });
  }

  void ended() {
    phase_ = phase::ended;
    logger()->info("replay of {} ended: {} messages, up to sequence {}", stream_, stats_.snapshot().delivered,
                   cursor_.last_handed_out());
    if (waiter_) complete({}, std::nullopt);
    for (auto& c : std::exchange(closers_, {})) c->complete({});
  }

  void complete(error_code ec, std::optional<message> m) {
    if (auto w = std::exchange(waiter_, nullptr)) w->complete(ec, std::move(m));
  }

  jetstream js_;
  std::string stream_;
  replay_options opts_;
  replay_cursor cursor_;
  std::optional<consumer> consumer_;
  std::shared_ptr<replay_next_operation> waiter_;
  std::vector<std::shared_ptr<replay_close_operation>> closers_;
  boost::asio::cancellation_signal pull_cancel_;
  boost::asio::steady_timer quiet_;
  phase phase_ = phase::running;
  bool pulling_ = false;
  bool starting_ = false;
  shared_stats<replay_stats> stats_;
};

}  // namespace detail

void replay::async_open(jetstream js, std::string stream, replay_range range, replay_options opts,
                        boost::asio::any_completion_handler<void(error_code, replay)> handler) {
  using open_operation = detail::pending_operation<void(error_code, replay)>;
  auto op = open_operation::create(std::move(handler), js.get_executor());
  op->complete_on_terminal_cancel();
  auto refuse = [&](const std::string& text) {
    logger()->error("{}", text);
    op->fail(text, make_error_code(errc::invalid_argument), replay{});
  };
  if (opts.capacity == 0) return refuse("replay of " + stream + ": replay_options::capacity must be at least 1");
  if (const auto problem = detail::replay_cursor(range, 0).check(); !problem.empty())
    return refuse(problem + " (stream " + stream + ")");
  js.stream_info(stream, [js, stream, range = std::move(range), opts = std::move(opts), op](error_code ec,
                                                                                            stream_info info) mutable {
    if (ec) return void(op->fail("replay of " + stream + ": stream info: " + ec.message(), ec, replay{}));
    auto core = std::make_shared<detail::replay_core>(
        js, stream, std::move(opts), detail::replay_cursor(std::move(range), info.state.last_sequence));
    core->start([core, op, stream](error_code ec) {
      if (ec) return void(op->fail("replay of " + stream + ": its consumer: " + ec.message(), ec, replay{}));
      using owner = detail::last_handle<detail::replay_core, &detail::replay_core::close_in_background>;
      op->complete({}, replay(std::make_shared<owner>(core), core));
    });
  });
}

void replay::async_next(const std::shared_ptr<detail::replay_core>& core,
                        boost::asio::any_completion_handler<void(error_code, std::optional<message>)> handler) {
  if (!core) {
    auto op = detail::replay_next_operation::create(std::move(handler), boost::asio::system_executor());
    return void(op->complete(make_error_code(errc::not_connected), std::nullopt));
  }
  auto op = detail::replay_next_operation::create(std::move(handler), core->executor());
  core->connect_cancellation(op);
  detail::on_strand(core->executor(), [core, op] { core->next(op); });
}

void replay::async_close(const std::shared_ptr<detail::replay_core>& core,
                         boost::asio::any_completion_handler<void(error_code)> handler) {
  if (!core) {
    auto op = detail::replay_close_operation::create(std::move(handler), boost::asio::system_executor());
    return void(op->complete({}));
  }
  auto op = detail::replay_close_operation::create(std::move(handler), core->executor());
  op->complete_on_terminal_cancel();
  detail::on_strand(core->executor(), [core, op] { core->close(op); });
}

replay_stats replay::stats() const { return core_ ? core_->stats() : replay_stats{}; }

}  // namespace natscoro
