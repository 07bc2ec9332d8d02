// The runner's pure logic: lane scheduling and what follows a failed attempt. No server.
#include <natscoro/detail/failure_policy.hpp>
#include <natscoro/detail/lane_scheduler.hpp>

#include <boost/test/unit_test.hpp>

#include <map>
#include <random>
#include <set>

namespace nc = natscoro;
using nc::detail::decide_after_failure;
using nc::detail::failure_action;
using nc::detail::failure_kind;
using nc::detail::lane_scheduler;
using namespace std::chrono_literals;

namespace {

std::vector<std::uint64_t> start_all(lane_scheduler& s) {
  std::vector<std::uint64_t> out;
  while (auto id = s.start_next()) out.push_back(*id);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(lane_scheduling)

BOOST_AUTO_TEST_CASE(one_item_per_key_runs_at_a_time_in_arrival_order) {
  lane_scheduler s(8);
  s.push(1, "a");
  s.push(2, "a");
  s.push(3, "b");
  s.push(4, "a");
  BOOST_TEST(start_all(s) == (std::vector<std::uint64_t>{1, 3}), boost::test_tools::per_element());
  s.finish(1);
  BOOST_TEST(start_all(s) == (std::vector<std::uint64_t>{2}), boost::test_tools::per_element());
  s.finish(2);
  s.finish(3);
  BOOST_TEST(start_all(s) == (std::vector<std::uint64_t>{4}), boost::test_tools::per_element());
  s.finish(4);
  BOOST_TEST(s.running() == 0u);
  BOOST_TEST(s.queued() == 0u);
  BOOST_TEST(s.lane_high_water() == 3u);
}

BOOST_AUTO_TEST_CASE(items_without_a_key_run_side_by_side_up_to_the_bound) {
  lane_scheduler s(3);
  for (std::uint64_t i = 1; i <= 5; ++i) s.push(i, "");
  BOOST_TEST(start_all(s) == (std::vector<std::uint64_t>{1, 2, 3}), boost::test_tools::per_element());
  BOOST_TEST(s.queued() == 2u);
  s.finish(2);
  BOOST_TEST(start_all(s) == (std::vector<std::uint64_t>{4}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_busy_key_takes_turns_with_the_others) {
  lane_scheduler s(1);
  for (std::uint64_t i = 1; i <= 3; ++i) s.push(i, "hot");
  s.push(4, "cold");
  s.push(5, "other");
  std::vector<std::uint64_t> order;
  while (auto id = s.start_next()) {
    order.push_back(*id);
    s.finish(*id);
  }
  // After "hot" runs once it goes behind the keys already waiting.
  BOOST_TEST(order == (std::vector<std::uint64_t>{1, 4, 5, 2, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_paused_item_keeps_its_lane_but_frees_its_place) {
  lane_scheduler s(1);
  s.push(1, "a");
  s.push(2, "a");
  s.push(3, "b");
  BOOST_TEST(start_all(s) == (std::vector<std::uint64_t>{1}), boost::test_tools::per_element());
  s.pause(1);                                                                                     // waiting for a retry
  BOOST_TEST(start_all(s) == (std::vector<std::uint64_t>{3}), boost::test_tools::per_element());  // not 2
  s.resume(1);
  BOOST_TEST(!s.start_next().has_value());  // the bound: 3 runs
  s.finish(3);
  BOOST_TEST(start_all(s) == (std::vector<std::uint64_t>{1}), boost::test_tools::per_element());  // before 2
  s.finish(1);
  BOOST_TEST(start_all(s) == (std::vector<std::uint64_t>{2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_drain_takes_only_what_has_no_running_item_ahead) {
  lane_scheduler s(1);
  s.push(1, "a");
  s.push(2, "a");
  s.push(3, "b");
  s.push(4, "");
  BOOST_TEST(start_all(s) == (std::vector<std::uint64_t>{1}), boost::test_tools::per_element());
  BOOST_TEST(s.take_queued() == (std::vector<std::uint64_t>{3, 4}), boost::test_tools::per_element());
  s.finish(1);
  BOOST_TEST(s.take_queued() == (std::vector<std::uint64_t>{2}), boost::test_tools::per_element());
  BOOST_TEST(s.queued() == 0u);
  BOOST_TEST(!s.start_next().has_value());
}

BOOST_AUTO_TEST_CASE(random_work_keeps_order_per_key_and_the_bound) {
  std::mt19937 rng(7);
  constexpr std::size_t bound = 4;
  lane_scheduler s(bound);
  std::map<std::string, std::vector<std::uint64_t>> pushed, started;
  std::set<std::uint64_t> running;
  std::uint64_t next = 1;
  for (int step = 0; step < 20000; ++step) {
    if (rng() % 3 != 0 && next < 5000) {
      const std::string key = "k" + std::to_string(rng() % 20);
      pushed[key].push_back(next);
      s.push(next++, key);
    } else if (!running.empty()) {
      auto it = running.begin();
      std::advance(it, static_cast<long>(rng() % running.size()));
      s.finish(*it);
      running.erase(it);
    }
    while (auto id = s.start_next()) {
      running.insert(*id);
      for (auto& [key, ids] : pushed)
        if (std::find(ids.begin(), ids.end(), *id) != ids.end()) started[key].push_back(*id);
    }
    BOOST_REQUIRE(running.size() <= bound);
    BOOST_REQUIRE(s.running() == running.size());
  }
  for (auto& [key, ids] : started) {
    const auto& all = pushed[key];
    BOOST_TEST(std::equal(ids.begin(), ids.end(), all.begin()), "key " << key << " started out of order");
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(failure_decisions)

const nc::retry_policy policy{4, {1s, 5s}, 30s, 0.0};

BOOST_AUTO_TEST_CASE(keyed_failures_retry_in_the_lane_with_the_backoff) {
  auto d = decide_after_failure(policy, failure_kind::failed, 1, 1, -1, true, 0.5);
  BOOST_TEST((d.action == failure_action::retry_here));
  BOOST_TEST(d.delay.count() == 1000);
  d = decide_after_failure(policy, failure_kind::failed, 3, 1, -1, true, 0.5);
  BOOST_TEST(d.delay.count() == 10000);  // past the schedule the last delay doubles
}

BOOST_AUTO_TEST_CASE(unkeyed_failures_are_redelivered_with_the_backoff) {
  const auto d = decide_after_failure(policy, failure_kind::failed, 2, 2, -1, false, 0.5);
  BOOST_TEST((d.action == failure_action::redeliver));
  BOOST_TEST(d.delay.count() == 5000);
}

BOOST_AUTO_TEST_CASE(the_last_attempt_dead_letters) {
  BOOST_TEST(
      (decide_after_failure(policy, failure_kind::failed, 4, 4, -1, false, 0.5).action == failure_action::dead_letter));
  BOOST_TEST(
      (decide_after_failure(policy, failure_kind::failed, 4, 1, -1, true, 0.5).action == failure_action::dead_letter));
}

BOOST_AUTO_TEST_CASE(permanent_and_undecodable_messages_dead_letter_at_once) {
  BOOST_TEST((decide_after_failure(policy, failure_kind::permanent, 1, 1, -1, true, 0.5).action ==
              failure_action::dead_letter));
  BOOST_TEST((decide_after_failure(policy, failure_kind::invalid_event, 1, 1, -1, false, 0.5).action ==
              failure_action::dead_letter));
}

BOOST_AUTO_TEST_CASE(no_redelivery_left_means_dead_letter_now) {
  // max_deliver 2 reached on delivery 2, though the policy allows 4 attempts.
  BOOST_TEST(
      (decide_after_failure(policy, failure_kind::failed, 2, 2, 2, false, 0.5).action == failure_action::dead_letter));
  // In the lane no redelivery is needed: the retry stays here.
  BOOST_TEST(
      (decide_after_failure(policy, failure_kind::failed, 2, 2, 2, true, 0.5).action == failure_action::retry_here));
}

BOOST_AUTO_TEST_CASE(jitter_stays_within_its_band) {
  const nc::retry_policy jittery{4, {1s}, 30s, 0.2};
  for (double r : {0.0, 0.25, 0.5, 0.999}) {
    const auto d = decide_after_failure(jittery, failure_kind::failed, 1, 1, -1, true, r);
    BOOST_TEST(d.delay.count() >= 800);
    BOOST_TEST(d.delay.count() <= 1200);
  }
}

BOOST_AUTO_TEST_SUITE_END()
