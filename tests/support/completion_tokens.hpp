// Runs one asynchronous operation through every kind of completion token and
// checks the Asio contract natscoro promises (docs/threading.md): the handler
// runs exactly once, on its associated executor, never inside the initiating
// call; errors bring their diagnostics to the tokens that ask for them.
#pragma once

#include <natscoro/diagnostics.hpp>
#include <natscoro/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

namespace natscoro::test {

namespace token_harness {

namespace asio = boost::asio;

/// Waits (polling every millisecond, at most 60 s) until `done()`.
template <class Done>
asio::awaitable<bool> settle(Done done) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) co_return false;
    timer.expires_after(std::chrono::milliseconds(1));
    co_await timer.async_wait(asio::use_awaitable);
  }
  co_return true;
}

template <class Signature>
struct runner;

template <class... Values>
struct runner<void(error_code, Values...)> {
  using result = std::tuple<error_code, Values...>;

  /// `setup()` makes a fresh subject (awaitable), `op(subject, token)` starts the
  /// operation under test on it, `check(ec, values...)` inspects each result.
  /// `diagnosed`: whether an error must come with diagnostics.
  template <class Setup, class Op, class Check>
  static asio::awaitable<void> run(std::string name, Setup setup, Op op, Check check, bool diagnosed) {
    auto ex = co_await asio::this_coro::executor;
    auto report = [&](const char* token, result r, const diagnostics* diag) {
      BOOST_TEST_CONTEXT(name << " with " << token) {
        if (diag != nullptr && std::get<0>(r) && diagnosed)
          BOOST_CHECK_MESSAGE(!diag->message.empty(), "an error without diagnostics: " << std::get<0>(r).message());
        std::apply(check, std::move(r));
      }
    };

    {  // a callback bound to a strand of its own: runs there, once, after the initiating call
      auto subject = co_await setup();
      auto strand = asio::make_strand(ex);
      bool initiating = true;
      int calls = 0;
      bool on_strand = false, inline_call = false;
      std::optional<result> r;
      op(subject, asio::bind_executor(strand, [&](error_code ec, Values... v) {
           ++calls;
           on_strand = strand.running_in_this_thread();
           inline_call = initiating;
           r.emplace(ec, std::move(v)...);
         }));
      initiating = false;
      BOOST_CHECK_MESSAGE(co_await settle([&] { return r.has_value(); }), name << ": callback never called");
      BOOST_CHECK_MESSAGE(on_strand, name << ": callback not on its associated executor");
      BOOST_CHECK_MESSAGE(!inline_call, name << ": callback ran inside the initiating call");
      if (r) report("a callback", std::move(*r), nullptr);
      asio::steady_timer later(ex, std::chrono::milliseconds(5));  // room for a second call, which must not come
      co_await later.async_wait(asio::use_awaitable);
      BOOST_CHECK_MESSAGE(calls == 1, name << ": callback called " << calls << " times");
    }
    {  // asio::deferred, awaited with as_tuple
      auto subject = co_await setup();
      report("as_tuple(deferred)", co_await op(subject, asio::as_tuple(asio::deferred)), nullptr);
    }
    {  // use_awaitable with as_tuple: the coroutine resumes on its own executor
      auto subject = co_await setup();
      auto r = co_await op(subject, asio::as_tuple(asio::use_awaitable));
      report("as_tuple(use_awaitable)", std::move(r), nullptr);
    }
    {  // with_diagnostics over as_tuple(deferred)
      auto subject = co_await setup();
      diagnostics diag;
      report("with_diagnostics", co_await op(subject, with_diagnostics(diag, asio::as_tuple(asio::deferred))), &diag);
    }
    {  // the default token: an awaitable that throws natscoro::error with the diagnostics
      auto subject = co_await setup();
      diagnostics diag;
      result r{};
      try {
        if constexpr (sizeof...(Values) == 0) {
          co_await op(subject, default_token_t{});
        } else if constexpr (sizeof...(Values) == 1) {
          std::get<1>(r) = co_await op(subject, default_token_t{});
        } else {
          auto values = co_await op(subject, default_token_t{});
          r = std::tuple_cat(std::make_tuple(error_code{}), std::move(values));
        }
      } catch (const natscoro::error& e) {
        std::get<0>(r) = e.code();
        diag.message = e.detail();
      }
      report("the default token", std::move(r), &diag);
    }
    {  // use_future: the future becomes ready once the handler ran
      auto subject = co_await setup();
      auto future = op(subject, asio::use_future);
      BOOST_CHECK_MESSAGE(
          co_await settle([&] { return future.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }),
          name << ": the future never became ready");
      result r{};
      try {
        if constexpr (sizeof...(Values) == 0) {
          future.get();
        } else if constexpr (sizeof...(Values) == 1) {
          std::get<1>(r) = future.get();
        } else {
          r = std::tuple_cat(std::make_tuple(error_code{}), future.get());
        }
      } catch (const boost::system::system_error& e) {
        std::get<0>(r) = e.code();
      }
      report("use_future", std::move(r), nullptr);
    }
  }
};

}  // namespace token_harness

/// In a coroutine: runs `op(subject, token)` with a callback bound to a strand,
/// as_tuple(deferred), as_tuple(use_awaitable), with_diagnostics, the default
/// token and use_future, each on a subject made by `setup()` (awaited); calls
/// `check(error_code, values...)` for each result. With `diagnosed`, an error must
/// come with diagnostics through with_diagnostics and the default token.
template <class Signature, class Setup, class Op, class Check>
boost::asio::awaitable<void> check_completion_tokens(std::string name, Setup setup, Op op, Check check,
                                                     bool diagnosed = false) {
  return token_harness::runner<Signature>::run(std::move(name), std::move(setup), std::move(op), std::move(check),
                                               diagnosed);
}

}  // namespace natscoro::test
