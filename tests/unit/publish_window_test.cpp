// The publisher's window without I/O: admission and waiting, what each write
// outcome, reply and deadline leads to, the link coming back, and when waiting
// producers resume.
#include <natscoro/detail/publish_window.hpp>

#include <boost/test/unit_test.hpp>

namespace nc = natscoro;
using natscoro::detail::publish_verdict;
using natscoro::detail::write_outcome;
using namespace std::chrono_literals;

namespace {

using window = natscoro::detail::publish_window<int>;  // the payload: a number naming the publish
using kind = publish_verdict::kind;
const window::clock::time_point t0{std::chrono::hours(1)};

// Four attempts, 100 ms then doubling, no jitter: delays are exact.
nc::retry_policy exact_retries() { return nc::retry_policy{4, {100ms}, 1s, 0.0}; }

window make(std::size_t max_in_flight = 4) { return window(max_in_flight, 1000ms, exact_retries(), 7); }

}  // namespace

BOOST_AUTO_TEST_SUITE(publish_window)

BOOST_AUTO_TEST_CASE(publishes_beyond_the_window_wait_in_order_for_a_place) {
  auto w = make(2);
  BOOST_TEST(w.next_token() == 1u);
  auto* a = w.admit("s.a", 1);
  auto* b = w.admit("s.b", 2);
  BOOST_REQUIRE(a != nullptr);
  BOOST_REQUIRE(b != nullptr);
  BOOST_TEST(a->id == 1u);
  BOOST_TEST(!w.has_room());
  BOOST_TEST(w.admit("s.c", 3) == nullptr);
  BOOST_TEST(w.admit("s.d", 4) == nullptr);
  BOOST_TEST(w.waiting() == 2u);
  BOOST_TEST(w.next_waiting() == nullptr);  // no place yet

  BOOST_TEST(w.take(1).has_value());
  auto* c = w.next_waiting();
  BOOST_REQUIRE(c != nullptr);
  BOOST_TEST(c->payload == 3);  // first come, first served
  BOOST_TEST(w.next_waiting() == nullptr);
  BOOST_TEST(w.in_flight() == 2u);
  BOOST_TEST(!w.has_room());           // one still waits: a newcomer queues behind it
  BOOST_TEST(!w.take(1).has_value());  // taken once only
  BOOST_TEST(!w.idle());
}

BOOST_AUTO_TEST_CASE(a_written_publish_times_out_then_is_retried_with_backoff_until_the_last_attempt) {
  auto w = make();
  auto* e = w.admit("s", 1);
  BOOST_TEST((w.on_written(*e, write_outcome::written, {}, {}, t0).what == kind::wait));
  BOOST_TEST((*w.next_deadline() == t0 + 1000ms));  // ack_timeout
  BOOST_TEST(w.on_deadline(t0 + 999ms).empty());

  auto now = t0 + 1000ms;
  std::chrono::milliseconds expected_delay = 100ms;
  for (int attempt = 1; attempt < 4; ++attempt) {
    auto expired = w.on_deadline(now);
    BOOST_REQUIRE(expired.size() == 1u);
    BOOST_TEST(!expired[0].write);
    BOOST_TEST((expired[0].verdict.what == kind::retry));
    BOOST_TEST((expired[0].verdict.ec == nc::errc::publish_timeout));
    BOOST_TEST(expired[0].verdict.delay.count() == expected_delay.count());
    BOOST_TEST(e->attempt == attempt + 1);
    // The backoff runs out: write it again.
    now += expected_delay;
    expired = w.on_deadline(now);
    BOOST_REQUIRE(expired.size() == 1u);
    BOOST_TEST(expired[0].write);
    w.on_written(*e, write_outcome::written, {}, {}, now);
    now += 1000ms;
    expected_delay *= 2;
  }
  auto last = w.on_deadline(now);
  BOOST_REQUIRE(last.size() == 1u);
  BOOST_TEST((last[0].verdict.what == kind::complete));
  BOOST_TEST((last[0].verdict.ec == nc::errc::publish_timeout));
  BOOST_TEST(last[0].verdict.detail.find("after 4 attempts") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(no_responders_on_every_attempt_means_no_stream) {
  auto w = make();
  auto* e = w.admit("orders.x", 1);
  auto now = t0;
  w.on_written(*e, write_outcome::written, {}, {}, now);
  for (int attempt = 1; attempt <= 4; ++attempt) {
    const auto v = w.on_reply(e->id, window::reply::no_responders, make_error_code(nc::nats_errc::no_responders),
                              "no stream answered", now);
    if (attempt < 4) {
      BOOST_TEST((v.what == kind::retry));
      // A second no-responders reply while waiting out the backoff changes nothing.
      BOOST_TEST(
          (w.on_reply(e->id, window::reply::no_responders, make_error_code(nc::nats_errc::no_responders), "", now)
               .what == kind::wait));
      now += v.delay;
      auto expired = w.on_deadline(now);
      BOOST_REQUIRE(expired.size() == 1u);
      BOOST_TEST(expired[0].write);
      w.on_written(*e, write_outcome::written, {}, {}, now);
    } else {
      BOOST_TEST((v.what == kind::complete));
      BOOST_TEST((v.ec == nc::errc::no_stream));
      BOOST_TEST(v.detail.find("no responders after 4 attempts") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_stream_not_yet_available_is_retried_and_a_final_reply_completes) {
  auto w = make();
  auto* e = w.admit("s", 1);
  w.on_written(*e, write_outcome::written, {}, {}, t0);
  const auto unavailable = w.on_reply(e->id, window::reply::unavailable, {}, "JetStream not ready", t0);
  BOOST_TEST((unavailable.what == kind::retry));
  const auto done = w.on_reply(e->id, window::reply::final, {}, {}, t0 + 1ms);
  BOOST_TEST((done.what == kind::complete));
  BOOST_TEST(!done.ec);
  BOOST_TEST(w.take(e->id).has_value());
  // A late reply to what is done is ignored.
  BOOST_TEST((w.on_reply(1, window::reply::final, {}, {}, t0).what == kind::wait));
  BOOST_TEST(!w.next_deadline().has_value());  // its deadline went with it
  BOOST_TEST(w.idle());
}

BOOST_AUTO_TEST_CASE(closed_and_too_large_fail_at_once_other_write_errors_are_retried) {
  auto w = make();
  auto* a = w.admit("s", 1);
  const auto closed =
      w.on_written(*a, write_outcome::closed, make_error_code(nc::errc::not_connected), "the connection is closed", t0);
  BOOST_TEST((closed.what == kind::complete));
  BOOST_TEST((closed.ec == nc::errc::not_connected));
  auto* b = w.admit("s", 2);
  BOOST_TEST((w.on_written(*b, write_outcome::too_large, make_error_code(nc::errc::payload_too_large), "", t0).what ==
              kind::complete));
  auto* c = w.admit("s", 3);
  const auto failed = w.on_written(*c, write_outcome::failed, make_error_code(nc::nats_errc::timeout), "", t0);
  BOOST_TEST((failed.what == kind::retry));
  BOOST_TEST(failed.delay.count() == 100);
}

BOOST_AUTO_TEST_CASE(without_a_link_nothing_is_written_until_it_is_back_and_then_not_connected) {
  auto w = make();
  auto* a = w.admit("s", 1);
  auto* b = w.admit("s", 2);
  BOOST_TEST((w.on_written(*a, write_outcome::no_link, {}, {}, t0).what == kind::wait));  // held, its attempt runs
  w.on_written(*b, write_outcome::written, {}, {}, t0);
  // b's reply is lost with the link; a never went. b then meets a backoff:
  auto v = w.on_reply(b->id, window::reply::unavailable, {}, "", t0);
  BOOST_TEST((v.what == kind::retry));
  // The link comes back: a (and anything else not waiting out a backoff) is written again, oldest first.
  const auto again = w.on_link_restored();
  BOOST_TEST(again.size() == 1u);
  BOOST_TEST(again[0] == a->id);

  // Had it not come back, a's attempts end with not_connected.
  auto lone = make();
  auto* c = lone.admit("s", 3);
  auto now = t0;
  for (int attempt = 1; attempt <= 4; ++attempt) {
    lone.on_written(*c, write_outcome::no_link, {}, {}, now);
    now += 1000ms;
    auto expired = lone.on_deadline(now);
    BOOST_REQUIRE(expired.size() == 1u);
    BOOST_TEST((expired[0].verdict.ec == nc::errc::not_connected));
    if (attempt == 4) {
      BOOST_TEST((expired[0].verdict.what == kind::complete));
      BOOST_TEST(expired[0].verdict.detail.find("no link to a server") != std::string::npos);
    } else {
      now += expired[0].verdict.delay;
      BOOST_TEST(lone.on_deadline(now).at(0).write);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_refused_subject_names_the_oldest_publish_to_it) {
  auto w = make();
  w.admit("a", 1);
  w.admit("b", 2);
  w.admit("b", 3);
  BOOST_TEST(w.oldest_to("b").value() == 2u);
  BOOST_TEST(!w.oldest_to("c").has_value());
  w.take(2);
  BOOST_TEST(w.oldest_to("b").value() == 3u);
  BOOST_TEST((w.tokens() == std::vector<window::token>{1, 3}));
}

BOOST_AUTO_TEST_CASE(once_full_producers_resume_together_when_a_quarter_is_free) {
  auto w = make(8);
  BOOST_TEST(w.room_for_newcomer());
  for (int i = 1; i <= 8; ++i) w.admit("s", i);
  BOOST_TEST(w.places_for_waiters() == 0u);  // full
  BOOST_TEST(!w.room_for_newcomer());
  w.take(1);
  BOOST_TEST(w.places_for_waiters() == 0u);  // 7 of 8: not yet
  BOOST_TEST(!w.room_for_newcomer());
  w.take(2);
  BOOST_TEST(w.places_for_waiters() == 2u);  // 6 of 8: a quarter free, both places at once
  BOOST_TEST(w.room_for_newcomer());
  w.admit("s", 9);
  BOOST_TEST(w.places_for_waiters() == 1u);  // below the mark now, no longer held back
}

BOOST_AUTO_TEST_CASE(take_waiting_hands_back_what_never_went_out) {
  auto w = make(1);
  w.admit("s", 1);
  w.admit("s", 2);
  w.admit("s", 3);
  auto rest = w.take_waiting();
  BOOST_TEST(rest.size() == 2u);
  BOOST_TEST(rest.front().payload == 2);
  BOOST_TEST(w.waiting() == 0u);
  BOOST_TEST(w.in_flight() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
