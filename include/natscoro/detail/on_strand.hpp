// How every public operation reaches the state it works on, from any thread.
//
// A connection's state, and the state of everything built on it (publishers,
// consumers, the JetStream API client), lives on one strand: the connection's
// executor. A public operation called from another thread is posted there; one
// called on the strand runs at once (asio::dispatch). The caller's diagnostics
// sink (natscoro::with_diagnostics, the default token) travels along, so the
// operation's pending_operation takes it wherever it is created.
//
// Cancellation slots are not thread-safe: an operation that honours cancellation
// creates its pending_operation and connects the slot in the initiating call,
// before it moves to the strand (pending_operation::complete_on_cancel).
#pragma once

#include <natscoro/diagnostics.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <utility>

namespace natscoro::detail {

/// Whether the calling thread is running `strand` (a connection's executor, a
/// strand of one of the two kinds connect() keeps as they are).
inline bool running_on(const boost::asio::any_io_executor& strand) {
  if (const auto* s = strand.target<boost::asio::strand<boost::asio::any_io_executor>>())
    return s->running_in_this_thread();
  if (const auto* s = strand.target<boost::asio::strand<boost::asio::io_context::executor_type>>())
    return s->running_in_this_thread();
  return false;
}

/// Runs `f()` on `strand`: inline when the calling thread is running the strand,
/// posted otherwise. `f` must be movable; it is destroyed unrun if the strand's
/// execution context is shut down first.
template <class F>
void on_strand(const boost::asio::any_io_executor& strand, F&& f) {
  boost::asio::dispatch(strand, [sink = take_current_diagnostics_sink(), f = std::forward<F>(f)]() mutable {
    diagnostics_scope scope(std::move(sink));
    std::move(f)();
  });
}

}  // namespace natscoro::detail
