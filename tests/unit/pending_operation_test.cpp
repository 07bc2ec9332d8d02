// The hand-over from foreign threads to a handler's executor.
#include <natscoro/detail/pending_operation.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/error_code.hpp>
#include <boost/test/unit_test.hpp>

#include <thread>

namespace asio = boost::asio;
using boost::system::error_code;
using op_type = natscoro::detail::pending_operation<void(error_code, int)>;

BOOST_AUTO_TEST_SUITE(pending_operation)

BOOST_AUTO_TEST_CASE(completes_once_on_the_handler_executor_never_inline) {
  asio::io_context ioc;
  auto strand = asio::make_strand(ioc);
  int calls = 0;
  int value = 0;
  std::shared_ptr<op_type> op;
  asio::post(strand, [&] {
    op = op_type::create(asio::bind_executor(strand,
                                             [&](error_code ec, int v) {
                                               BOOST_TEST(strand.running_in_this_thread());
                                               BOOST_TEST(!ec);
                                               ++calls;
                                               value = v;
                                             }),
                         ioc.get_executor());
    BOOST_TEST(op->complete(error_code{}, 7));
    BOOST_TEST(calls == 0);  // not inline
    BOOST_TEST(!op->complete(error_code{}, 8));
    BOOST_TEST(!op->pending());
  });
  ioc.run();
  BOOST_TEST(calls == 1);
  BOOST_TEST(value == 7);
}

BOOST_AUTO_TEST_CASE(a_pending_operation_keeps_its_executor_busy) {
  asio::io_context ioc;
  int calls = 0;
  auto op = op_type::create([&](error_code, int) { ++calls; }, ioc.get_executor());
  ioc.run_for(std::chrono::milliseconds(1));
  BOOST_TEST(!ioc.stopped());  // outstanding work: run() would not have returned
  std::thread other([&] { op->complete(error_code{}, 1); });
  other.join();
  ioc.restart();
  ioc.run();
  BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_CASE(cancellation_completes_with_the_given_result_and_the_late_result_is_dropped) {
  asio::io_context ioc;
  asio::cancellation_signal signal;
  error_code result;
  int calls = 0;
  auto op = op_type::create(asio::bind_cancellation_slot(signal.slot(),
                                                         [&](error_code ec, int) {
                                                           result = ec;
                                                           ++calls;
                                                         }),
                            ioc.get_executor());
  op->complete_on_cancel(asio::error::operation_aborted, 0);
  signal.emit(asio::cancellation_type::terminal);
  BOOST_TEST(!op->complete(error_code{}, 1));
  ioc.run();
  BOOST_TEST(calls == 1);
  BOOST_TEST(result == asio::error::operation_aborted);
}

// An operation that took an effect it cannot undo narrows what it honours from
// another thread; the slot, connected in the initiating call, applies the new rule.
BOOST_AUTO_TEST_CASE(honour_narrows_the_cancellation_types_from_any_thread) {
  asio::io_context ioc;
  asio::cancellation_signal signal;
  error_code result;
  int calls = 0;
  auto op = op_type::create(asio::bind_cancellation_slot(signal.slot(),
                                                         [&](error_code ec, int) {
                                                           result = ec;
                                                           ++calls;
                                                         }),
                            ioc.get_executor());
  op->complete_on_cancel(asio::error::operation_aborted, 0);  // every type, in the initiating call
  std::thread([&] { op->honour(asio::cancellation_type::terminal); }).join();
  signal.emit(asio::cancellation_type::total);  // ignored now
  signal.emit(asio::cancellation_type::partial);
  BOOST_TEST(op->pending());
  signal.emit(asio::cancellation_type::terminal);
  BOOST_TEST(!op->pending());
  ioc.run();
  BOOST_TEST(calls == 1);
  BOOST_TEST(result == asio::error::operation_aborted);
}

BOOST_AUTO_TEST_CASE(terminal_only_operations_complete_with_empty_values) {
  asio::io_context ioc;
  asio::cancellation_signal signal;
  error_code result;
  int value = -1;
  auto op = op_type::create(asio::bind_cancellation_slot(signal.slot(),
                                                         [&](error_code ec, int v) {
                                                           result = ec;
                                                           value = v;
                                                         }),
                            ioc.get_executor());
  op->complete_on_terminal_cancel();
  signal.emit(asio::cancellation_type::total | asio::cancellation_type::partial);
  BOOST_TEST(op->pending());
  signal.emit(asio::cancellation_type::terminal);
  ioc.run();
  BOOST_TEST(result == asio::error::operation_aborted);
  BOOST_TEST(value == 0);
}

BOOST_AUTO_TEST_CASE(results_from_many_threads_deliver_exactly_one) {
  asio::io_context ioc;
  std::atomic<int> calls{0};
  auto op = op_type::create([&](error_code, int) { ++calls; }, ioc.get_executor());
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      if (op->complete(error_code{}, i)) ++winners;
    });
  for (auto& t : threads) t.join();
  ioc.run();
  BOOST_TEST(winners.load() == 1);
  BOOST_TEST(calls.load() == 1);
}

BOOST_AUTO_TEST_SUITE_END()
