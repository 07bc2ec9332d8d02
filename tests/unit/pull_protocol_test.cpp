// The pull protocol without I/O: when requests go out and for how many, what
// each status means, a lost link and a silent server, and the drain's phases.
#include <natscoro/detail/pull_protocol.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

namespace nc = natscoro;
using natscoro::detail::pull_protocol;
using namespace std::chrono_literals;

namespace {

using kind = pull_protocol::status_action::kind;
const pull_protocol::clock::time_point t0{std::chrono::hours(1)};

pull_protocol make(std::size_t capacity = 100) {
  return pull_protocol({.capacity = capacity, .pull_expiry = 30s, .idle_heartbeat = 5s});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pull_protocol_logic)

BOOST_AUTO_TEST_CASE(nothing_is_pulled_before_the_first_call_for_a_message) {
  auto p = make();
  BOOST_TEST(!p.next_request(t0).has_value());
  p.start_pulling();
  const auto r = p.next_request(t0);
  BOOST_REQUIRE(r.has_value());
  const auto body = boost::json::parse(r->body).as_object();
  BOOST_TEST(body.at("batch").as_int64() == 100);
  BOOST_TEST(body.at("expires").as_int64() == 30'000'000'000);
  BOOST_TEST(body.at("idle_heartbeat").as_int64() == 5'000'000'000);
  BOOST_TEST(p.outstanding() == 100u);
  BOOST_TEST(!p.next_request(t0).has_value());  // everything is promised already
}

BOOST_AUTO_TEST_CASE(an_unsent_request_frees_its_credit) {
  auto p = make();
  p.start_pulling();
  const auto r = p.next_request(t0);
  p.on_request_unsent(r->id);
  BOOST_TEST(p.outstanding() == 0u);
  BOOST_TEST(p.next_request(t0).has_value());
}

BOOST_AUTO_TEST_CASE(deliveries_are_held_until_no_room_is_left) {
  auto p = make(2);
  p.start_pulling();
  p.next_request(t0);
  BOOST_TEST((p.on_delivery(t0) == pull_protocol::arrival::hold));
  BOOST_TEST((p.on_delivery(t0) == pull_protocol::arrival::hold));
  // From a request forgotten after a reconnect, with both places taken:
  BOOST_TEST((p.on_delivery(t0) == pull_protocol::arrival::give_back_later));
  p.on_released();
  BOOST_TEST((p.on_delivery(t0) == pull_protocol::arrival::hold));
}

BOOST_AUTO_TEST_CASE(each_status_means_what_the_server_says) {
  auto p = make();
  p.start_pulling();
  auto r = p.next_request(t0);
  BOOST_TEST((p.on_status(r->id, "100", "Idle Heartbeat", t0).what == kind::none));
  BOOST_TEST(p.outstanding() == 100u);  // a heartbeat keeps the request open
  BOOST_TEST((p.on_status(r->id, "408", "Request Timeout", t0).what == kind::pull));
  BOOST_TEST(p.outstanding() == 0u);

  r = p.next_request(t0);
  BOOST_TEST((p.on_status(r->id, "404", "No Messages", t0).what == kind::pull));

  r = p.next_request(t0);
  const auto paused = p.on_status(r->id, "409", "Exceeded MaxAckPending", t0);
  BOOST_TEST((paused.what == kind::pause));
  BOOST_TEST(paused.detail == "409 Exceeded MaxAckPending");
  BOOST_TEST(!p.next_request(t0 + 499ms).has_value());  // paused
  r = p.next_request(t0 + 500ms);
  BOOST_REQUIRE(r.has_value());

  BOOST_TEST((p.on_status(r->id, "503", "No Responders", t0 + 500ms).what == kind::check_consumer));
  BOOST_TEST(!p.next_request(t0 + 600ms).has_value());  // paused too, until the check says more

  const auto deleted = p.on_status(1, "409", "Consumer Deleted", t0);
  BOOST_TEST((deleted.what == kind::fail));
  BOOST_TEST((deleted.ec == nc::jetstream_errc::consumer_not_found));
  const auto push = p.on_status(1, "409", "Consumer is push based", t0);
  BOOST_TEST((push.what == kind::fail));
  BOOST_TEST((push.ec == nc::errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(a_restored_link_and_a_silent_server_forget_the_open_requests) {
  auto p = make();
  p.start_pulling();
  p.next_request(t0);
  p.on_link_restored();
  BOOST_TEST(p.outstanding() == 0u);

  p.next_request(t0);
  BOOST_TEST(!p.on_tick(t0 + 10s));  // two heartbeats of silence are tolerated
  BOOST_TEST(p.outstanding() == 100u);
  p.on_activity(t0 + 9s);
  BOOST_TEST(!p.on_tick(t0 + 15s));
  BOOST_TEST(p.on_tick(t0 + 19s + 1ms));  // silent for longer: forgotten, pull afresh
  BOOST_TEST(p.outstanding() == 0u);
  BOOST_TEST(p.silence_allowed().count() == 10'000);
  BOOST_TEST(!p.on_tick(t0 + 60s));  // nothing open: silence is expected
}

BOOST_AUTO_TEST_CASE(a_drain_stops_once_unsubscribed_and_completes_once_stopped) {
  auto p = make();
  p.start_pulling();
  BOOST_TEST((p.next_drain_step() == pull_protocol::drain_step::none));
  BOOST_TEST(p.begin_drain());
  BOOST_TEST(!p.begin_drain());
  BOOST_TEST(!p.running());
  BOOST_TEST(!p.next_request(t0).has_value());                           // no pulls while draining
  BOOST_TEST((p.next_drain_step() == pull_protocol::drain_step::none));  // the unsubscribe round trip first
  BOOST_TEST((p.on_unsubscribed() == pull_protocol::held_goes::back));
  BOOST_TEST(!p.on_unsubscribed().has_value());  // once
  BOOST_TEST((p.next_drain_step() == pull_protocol::drain_step::stop));
  BOOST_TEST(p.stop());
  BOOST_TEST(!p.stop());
  BOOST_TEST((p.next_drain_step() == pull_protocol::drain_step::complete));
}

BOOST_AUTO_TEST_CASE(a_participant_takes_what_is_held_and_holds_the_drain_until_it_detaches) {
  // Attached before the unsubscribe: it is handed what is held then.
  auto p = make();
  bool held_now = true;
  BOOST_TEST(p.attach_participant(&held_now));
  BOOST_TEST(!held_now);
  BOOST_TEST(!p.attach_participant(&held_now));  // one at a time
  p.begin_drain();
  BOOST_TEST((p.on_unsubscribed() == pull_protocol::held_goes::to_participant));
  p.stop();
  BOOST_TEST((p.next_drain_step() == pull_protocol::drain_step::none));  // it still settles its messages
  p.detach_participant();
  BOOST_TEST((p.next_drain_step() == pull_protocol::drain_step::complete));

  // Attached after: it takes what is held at once, and the unsubscribe leaves it there.
  auto q = make();
  q.begin_drain();
  q.attach_participant(&held_now);
  BOOST_TEST(!held_now);
  auto r = make();
  r.begin_drain();
  BOOST_TEST((r.on_unsubscribed() == pull_protocol::held_goes::back));
  BOOST_TEST(r.attach_participant(&held_now));
  BOOST_TEST(held_now);
}

BOOST_AUTO_TEST_SUITE_END()
