#include <natscoro/detail/subscription_drains.hpp>

#include <boost/test/unit_test.hpp>

#include <thread>

using natscoro::detail::subscription_drains;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(subscription_drains_suite)

BOOST_AUTO_TEST_CASE(the_connection_waits_for_running_subscription_drains) {
  subscription_drains drains;
  BOOST_TEST(drains.begin());
  BOOST_TEST(!drains.close_when_idle(std::chrono::steady_clock::now()));  // one still runs
  BOOST_TEST(!drains.begin());                                            // none starts after
  drains.end();
  BOOST_TEST(drains.close_when_idle(std::chrono::steady_clock::now()));
}

BOOST_AUTO_TEST_CASE(a_drain_ending_on_another_thread_releases_the_connection) {
  subscription_drains drains;
  BOOST_TEST(drains.begin());
  BOOST_TEST(drains.begin());
  std::thread nats_thread([&] {
    drains.end();
    drains.end();
  });
  BOOST_TEST(drains.close_when_idle(std::chrono::steady_clock::now() + 60s));
  nats_thread.join();
}

BOOST_AUTO_TEST_SUITE_END()
