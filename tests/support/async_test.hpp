// Running coroutines in tests, and waiting for conditions without sleeping blindly.
#pragma once

#include <natscoro/connection_event.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <string>
#include <vector>

namespace natscoro::test {

namespace asio = boost::asio;

/// Runs `body(executor)` as a coroutine on a fresh io_context until the io_context runs
/// out of work (connections closed included); rethrows what the coroutine threw. Fails
/// the test if that takes longer than `limit`.
template <class Body>
void run_async(Body body, std::chrono::seconds limit = std::chrono::seconds(120)) {
  asio::io_context ioc;
  std::exception_ptr failure;
  bool finished = false;
  asio::co_spawn(ioc, body(ioc.get_executor()), [&](std::exception_ptr e) {
    failure = e;
    finished = true;
  });
  ioc.run_for(limit);
  if (failure) std::rethrow_exception(failure);
  BOOST_REQUIRE_MESSAGE(finished, "the test coroutine did not finish in time");
  BOOST_REQUIRE_MESSAGE(ioc.stopped(), "work was still outstanding at the deadline (a connection not closed?)");
}

/// Waits, re-checking every few milliseconds, until `condition()` holds or `limit` passes.
/// Returns whether it holds.
inline asio::awaitable<bool> wait_until(std::function<bool()> condition,
                                        std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) co_return false;
    timer.expires_after(std::chrono::milliseconds(10));
    co_await timer.async_wait(asio::use_awaitable);
  }
  co_return true;
}

/// Collects the connection events delivered to connect_options::on_event.
struct event_log {
  std::vector<connection_event> events;

  std::function<void(const connection_event&)> recorder() {
    return [this](const connection_event& ev) { events.push_back(ev); };
  }
  std::size_t count(connection_event_kind kind) const {
    std::size_t n = 0;
    for (const auto& e : events) n += e.kind == kind;
    return n;
  }
  /// Position of the first event of `kind` (events.size() if none).
  std::size_t first(connection_event_kind kind) const {
    for (std::size_t i = 0; i < events.size(); ++i)
      if (events[i].kind == kind) return i;
    return events.size();
  }
};

}  // namespace natscoro::test
