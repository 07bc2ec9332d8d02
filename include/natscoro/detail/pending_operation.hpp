// A one-shot completion that any thread may finish, first caller wins.
//
// nats.c reports results on its own threads, and natscoro runs nats.c's
// blocking calls on a pool of its own. Neither may run user code: they finish a
// pending_operation, which posts the handler to its associated executor (never
// inline), keeping that executor's work count up until then, as Asio's
// c_callback_wrapper example does. A cancellation request through the handler's
// cancellation slot races with the result the same way: whichever finishes the
// operation first is delivered, the other is dropped.
#pragma once

#include <natscoro/diagnostics.hpp>

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace natscoro::detail {

template <class Signature>
class pending_operation;

template <class... Args>
class pending_operation<void(Args...)> : public std::enable_shared_from_this<pending_operation<void(Args...)>> {
 public:
  using handler_type = boost::asio::any_completion_handler<void(Args...)>;

  /// `io_executor` is the operation's I/O executor; the handler runs there unless it has an executor of its own.
  static std::shared_ptr<pending_operation> create(handler_type handler,
                                                   const boost::asio::any_io_executor& io_executor) {
    return std::shared_ptr<pending_operation>(new pending_operation(std::move(handler), io_executor));
  }

  /// Completes the operation with `args` when cancellation of a type in `honoured`
  /// is requested (Asio's meaning: terminal, the caller stops waiting whatever state
  /// is left; partial and total, the operation also had no effect). Requests of
  /// other types are ignored. Call it once, in the initiating call: the slot is
  /// connected on the thread that may emit the cancellation, as every Asio slot
  /// must be. The operation may then run on another thread and change the rule with honour().
  void complete_on_cancel(boost::asio::cancellation_type honoured, Args... args) {
    honoured_.store(honoured, std::memory_order_relaxed);
    {
      std::lock_guard lock(mutex_);
      if (!handler_) return;
    }
    auto slot = handler_->get_cancellation_slot();
    if (!slot.is_connected()) return;
    slot.assign([weak = this->weak_from_this(),
                 result = std::make_tuple(std::move(args)...)](boost::asio::cancellation_type requested) mutable {
      auto self = weak.lock();
      if (!self ||
          (requested & self->honoured_.load(std::memory_order_acquire)) == boost::asio::cancellation_type::none)
        return;
      std::apply([&](auto&... a) { self->complete(std::move(a)...); }, result);
    });
  }
  /// complete_on_cancel() for every type: the operation has had no effect yet.
  void complete_on_cancel(Args... args) { complete_on_cancel(boost::asio::cancellation_type::all, std::move(args)...); }

  /// complete_on_cancel() for terminal cancellation only, with operation_aborted and
  /// empty values: for an operation whose effect cannot be withdrawn once started
  /// (a request sent, a drain begun). The caller stops waiting; the effect may still happen.
  void complete_on_terminal_cancel() {
    complete_on_cancel(boost::asio::cancellation_type::terminal, cancelled_value<Args>()...);
  }

  /// Changes which types complete_on_cancel() honours from now on; any thread. An
  /// operation about to take an effect it cannot undo narrows them first, then
  /// checks pending(): a cancellation that came before still had no effect.
  void honour(boost::asio::cancellation_type honoured) { honoured_.store(honoured, std::memory_order_release); }

  /// Runs `f` on the I/O executor when cancellation of a type in `honoured` is
  /// requested; the operation stays pending (its owner winds down, then completes
  /// it). Call it in the initiating call, like complete_on_cancel().
  template <class F>
  void on_cancel(boost::asio::cancellation_type honoured, F f) {
    auto slot = handler_->get_cancellation_slot();
    if (!slot.is_connected()) return;
    slot.assign([ex = boost::asio::prefer(io_work_, boost::asio::execution::outstanding_work.untracked), honoured,
                 f = std::move(f)](boost::asio::cancellation_type requested) mutable {
      if ((requested & honoured) != boost::asio::cancellation_type::none) boost::asio::post(ex, std::move(f));
    });
  }

  /// Delivers the result, unless the operation was already completed. Thread-safe.
  /// Returns whether this call completed the operation.
  bool complete(Args... args) {
    std::optional<handler_type> handler;
    boost::asio::any_io_executor io_work;
    boost::asio::any_completion_executor handler_work;
    {
      std::lock_guard lock(mutex_);
      if (!handler_) return false;
      handler.swap(handler_);
      io_work = std::move(io_work_);
      handler_work = std::move(handler_work_);
    }
    // Posted to the I/O executor (never inline), then dispatched to the handler's own executor.
    boost::asio::post(
        io_work, boost::asio::bind_executor(handler_work, [h = std::move(*handler), ... a = std::move(args)]() mutable {
          h.get_cancellation_slot().clear();
          std::move(h)(std::move(a)...);
        }));
    return true;
  }

  /// complete(), with `text` (what went wrong, in words) as the diagnostics of a
  /// caller that asked for them (natscoro::with_diagnostics, the default token).
  bool fail(std::string text, Args... args) {
    if (sink_) {
      std::lock_guard lock(mutex_);
      if (handler_) sink_->message = std::move(text);
    }
    return complete(std::move(args)...);
  }

  /// Whether the operation is still waiting for its result (e.g. not cancelled). Thread-safe.
  bool pending() const {
    std::lock_guard lock(mutex_);
    return handler_.has_value();
  }

 private:
  template <class T>
  static T cancelled_value() {
    if constexpr (std::is_same_v<T, error_code>) {
      return boost::asio::error::operation_aborted;
    } else {
      return T{};
    }
  }

  pending_operation(handler_type handler, const boost::asio::any_io_executor& io_executor)
      : io_work_(boost::asio::prefer(io_executor, boost::asio::execution::outstanding_work.tracked)),
        handler_work_(boost::asio::prefer(
            boost::asio::get_associated_executor(handler, boost::asio::any_completion_executor(io_executor)),
            boost::asio::execution::outstanding_work.tracked)),
        handler_(std::move(handler)),
        sink_(take_current_diagnostics_sink()) {}

  mutable std::mutex mutex_;
  boost::asio::any_io_executor io_work_;
  boost::asio::any_completion_executor handler_work_;
  std::optional<handler_type> handler_;
  diagnostics_sink sink_;  // null unless the caller asked for diagnostics
  std::atomic<boost::asio::cancellation_type> honoured_{boost::asio::cancellation_type::none};
};

/// Completes `handler` with a result known in the initiating call, as a
/// pending_operation would (posted to `io_executor`, never inline; then run on
/// the handler's associated executor) without its allocation and lock: the
/// per-message path of next() and ack() takes it.
template <class Handler, class... Args>
void complete_now(const boost::asio::any_io_executor& io_executor, Handler&& handler, Args&&... args) {
  boost::asio::post(io_executor, boost::asio::append(std::forward<Handler>(handler), std::forward<Args>(args)...));
}

}  // namespace natscoro::detail
