// How every public operation reaches the state it works on, from any thread.
//
// A connection's state, and the state of everything built on it (publishers,
// consumers, the JetStream API client), lives on one strand: the connection's
// executor. A public operation called from another thread is posted there; one
// called on the strand runs at once (asio::dispatch). The caller's diagnostics
// sink (natscoro::with_diagnostics, the default token) travels along, so the
// operation's pending_operation takes it wherever it is created.
#pragma once

#include <natscoro/diagnostics.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/dispatch.hpp>

#include <utility>

namespace natscoro::detail {

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
