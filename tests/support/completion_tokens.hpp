// Runs one asynchronous operation through every kind of completion token and
// checks the Asio contract natscoro promises: the handler runs on its
// associated executor and never inside the initiating call.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <exception>
#include <thread>
#include <tuple>

namespace natscoro::test {

namespace detail {
// use_future turns `void(error_code, T...)` into a future that throws; this hands
// check() the same arguments as the other tokens do.
template <class Future, class Check, class... Values>
void check_future(Future& future, Check& check) {
  try {
    if constexpr (sizeof...(Values) == 0) {
      future.get();
      check(boost::system::error_code{});
    } else {
      check(boost::system::error_code{}, future.get());
    }
  } catch (const boost::system::system_error& e) {
    check(e.code(), Values{}...);
  }
}
template <class Signature>
struct future_checker;
template <class... Values>
struct future_checker<void(boost::system::error_code, Values...)> {
  template <class Future, class Check>
  static void run(Future& f, Check& c) {
    check_future<Future, Check, Values...>(f, c);
  }
};
}  // namespace detail

/// `initiate(executor, token)` starts the operation (completion `Signature`) on
/// `executor` with `token`. `check(error_code, values...)` inspects the result; it
/// is called three times: for a plain callback, for asio::deferred awaited in a
/// coroutine (with as_tuple), and for asio::use_future.
template <class Signature, class Initiate, class Check>
void check_completion_tokens(Initiate initiate, Check check) {
  namespace asio = boost::asio;

  {  // a callback bound to a strand
    asio::io_context ioc;
    auto strand = asio::make_strand(ioc);
    bool initiating = false;
    int calls = 0;
    asio::post(strand, [&] {
      initiating = true;
      initiate(strand, asio::bind_executor(strand, [&](auto... args) {
                 BOOST_CHECK_MESSAGE(!initiating, "callback: handler ran inside the initiating call");
                 BOOST_CHECK_MESSAGE(strand.running_in_this_thread(), "callback: handler not on its executor");
                 ++calls;
                 check(std::move(args)...);
               }));
      initiating = false;
    });
    ioc.run();
    BOOST_CHECK_EQUAL(calls, 1);
  }

  {  // asio::deferred, awaited in a coroutine on a strand
    asio::io_context ioc;
    auto strand = asio::make_strand(ioc);
    bool completed = false;
    std::exception_ptr failure;
    asio::co_spawn(
        strand,
        [&]() -> asio::awaitable<void> {
          auto result = co_await initiate(strand, asio::as_tuple(asio::deferred));
          BOOST_CHECK_MESSAGE(strand.running_in_this_thread(), "deferred: coroutine resumed off its executor");
          completed = true;
          std::apply(check, std::move(result));
        },
        [&](std::exception_ptr e) { failure = e; });
    ioc.run();
    if (failure) std::rethrow_exception(failure);
    BOOST_CHECK(completed);
  }

  {  // asio::use_future, initiated from a thread that is not running the io_context
    asio::io_context ioc;
    auto guard = asio::make_work_guard(ioc);
    std::thread runner([&] { ioc.run(); });
    {
      auto future = initiate(ioc.get_executor(), asio::use_future);
      detail::future_checker<Signature>::run(future, check);
    }  // the result (e.g. a connection) goes before the io_context may run out of work
    guard.reset();
    runner.join();
  }
}

}  // namespace natscoro::test
