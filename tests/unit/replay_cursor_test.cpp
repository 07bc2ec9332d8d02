// The bounded replay's ordered-consumer rules (no I/O).
#include <natscoro/detail/replay_cursor.hpp>

#include <boost/test/unit_test.hpp>

namespace nc = natscoro;
using nc::detail::replay_cursor;
using verdict = replay_cursor::verdict;
using quiet = replay_cursor::quiet_verdict;

namespace {

nc::message_metadata delivery(std::uint64_t stream_seq, std::uint64_t consumer_seq, std::uint64_t pending = 100) {
  nc::message_metadata md;
  md.stream_sequence = stream_seq;
  md.consumer_sequence = consumer_seq;
  md.num_pending = pending;
  md.timestamp = std::chrono::system_clock::time_point(std::chrono::seconds(stream_seq));
  return md;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(replay_cursor_rules)

BOOST_AUTO_TEST_CASE(the_end_is_the_smaller_of_the_bound_and_the_stream_end) {
  BOOST_TEST(replay_cursor({.from = std::uint64_t{1}, .to = std::uint64_t{20}}, 50).end_sequence() == 20u);
  BOOST_TEST(replay_cursor({.from = std::uint64_t{1}}, 50).end_sequence() == 50u);
  BOOST_TEST(replay_cursor({.from = std::uint64_t{51}}, 50).empty());
  BOOST_TEST(replay_cursor({}, 0).empty());
  BOOST_TEST(!replay_cursor({.from = std::uint64_t{50}}, 50).empty());
}

BOOST_AUTO_TEST_CASE(ranges_that_make_no_sense_are_named) {
  BOOST_TEST(replay_cursor({.from = std::uint64_t{5}, .to = std::uint64_t{4}}, 9).check() ==
             "replay from sequence 5 to 4: from is after to");
  BOOST_TEST(replay_cursor({.from = std::uint64_t{0}}, 9).check() == "replay from sequence 0: sequences start at 1");
  const auto t = std::chrono::system_clock::time_point(std::chrono::hours(1000));
  BOOST_TEST(!replay_cursor({.from = t + std::chrono::seconds(1), .to = t}, 9).check().empty());
  BOOST_TEST(replay_cursor({.from = t, .to = t}, 9).check().empty());
}

BOOST_AUTO_TEST_CASE(deliveries_in_order_are_handed_out_until_the_end) {
  replay_cursor c({.from = std::uint64_t{10}, .to = std::uint64_t{12}}, 100);
  BOOST_TEST(c.next_consumer(std::chrono::seconds(30)).start_sequence == 10u);
  BOOST_TEST((c.on_delivery(delivery(10, 1)) == verdict::hand_out));
  BOOST_TEST((c.on_delivery(delivery(11, 2)) == verdict::hand_out));
  BOOST_TEST((c.on_delivery(delivery(12, 3)) == verdict::hand_out_last));
  // Nothing pending after it: the last one, whatever the bound.
  replay_cursor open_ended({}, 100);
  BOOST_TEST((open_ended.on_delivery(delivery(7, 1, 0)) == verdict::hand_out_last));
}

BOOST_AUTO_TEST_CASE(a_delivery_past_a_time_bound_ends_the_replay_without_being_handed_out) {
  replay_cursor c({.from = std::uint64_t{1}, .to = std::chrono::system_clock::time_point(std::chrono::seconds(2))},
                  100);
  BOOST_TEST((c.on_delivery(delivery(1, 1)) == verdict::hand_out));
  BOOST_TEST((c.on_delivery(delivery(2, 2)) == verdict::hand_out));
  BOOST_TEST((c.on_delivery(delivery(3, 3)) == verdict::past_end));
  BOOST_TEST(c.last_handed_out() == 2u);
}

BOOST_AUTO_TEST_CASE(a_gap_restarts_after_the_last_message_handed_out) {
  replay_cursor c({}, 100);
  BOOST_TEST((c.on_delivery(delivery(1, 1)) == verdict::hand_out));
  BOOST_TEST((c.on_delivery(delivery(2, 2)) == verdict::hand_out));
  BOOST_TEST((c.on_delivery(delivery(5, 5)) == verdict::gap));  // deliveries 3 and 4 were lost
  c.restarted();
  const auto next = c.next_consumer(std::chrono::seconds(30));
  BOOST_TEST((next.deliver == nc::deliver_policy::by_start_sequence));
  BOOST_TEST(next.start_sequence == 3u);
  BOOST_TEST((next.ack == nc::ack_policy::none));
  BOOST_TEST((c.on_delivery(delivery(3, 1)) == verdict::hand_out));
  // A message again that was handed out already is no progress either.
  BOOST_TEST((c.on_delivery(delivery(3, 2)) == verdict::gap));
}

BOOST_AUTO_TEST_CASE(a_quiet_consumer_is_finished_or_has_lost_deliveries) {
  replay_cursor c({}, 100);
  BOOST_TEST((c.on_delivery(delivery(1, 1)) == verdict::hand_out));
  BOOST_TEST((c.on_quiet(5, 1) == quiet::wait));      // more to come
  BOOST_TEST((c.on_quiet(0, 1) == quiet::finished));  // nothing left (deleted or filtered away)
  BOOST_TEST((c.on_quiet(0, 2) == quiet::wait));      // delivery 2 may still be on its way
  BOOST_TEST((c.on_quiet(0, 2) == quiet::gap));       // it is not
  BOOST_TEST((c.on_delivery(delivery(2, 2)) == verdict::hand_out));
  BOOST_TEST((c.on_quiet(0, 3) == quiet::wait));  // a new suspicion starts over
}

BOOST_AUTO_TEST_CASE(a_time_start_is_used_until_something_was_handed_out) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1000));
  replay_cursor c({.from = t}, 100);
  auto first = c.next_consumer(std::chrono::seconds(30));
  BOOST_TEST((first.deliver == nc::deliver_policy::by_start_time));
  BOOST_TEST((first.start_time == t));
}

BOOST_AUTO_TEST_SUITE_END()
