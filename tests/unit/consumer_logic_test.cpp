// Pull flow control, the heartbeat watchdog, and ack-subject metadata: no server.
#include <natscoro/detail/pull_credits.hpp>
#include <natscoro/message_metadata.hpp>

#include <boost/test/unit_test.hpp>

namespace nc = natscoro;
using nc::detail::heartbeat_watchdog;
using nc::detail::pull_credits;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(consumer_logic)

BOOST_AUTO_TEST_CASE(the_first_request_asks_for_the_whole_capacity) {
  pull_credits c(16);
  BOOST_TEST(c.request_size() == 16u);
  c.on_request_sent(16, pull_credits::clock::now() + 30s);
  BOOST_TEST(c.request_size() == 0u);  // everything promised
  BOOST_TEST(c.outstanding() == 16u);
}

BOOST_AUTO_TEST_CASE(a_new_request_goes_out_when_half_is_free) {
  pull_credits c(16);
  const auto t = pull_credits::clock::now() + 30s;
  c.on_request_sent(16, t);
  for (int i = 0; i < 4; ++i) {
    c.on_message();
    c.on_released();
  }
  BOOST_TEST(c.outstanding() == 12u);
  BOOST_TEST(c.request_size() == 0u);  // 4 free, a request still open: wait
  for (int i = 0; i < 4; ++i) {
    c.on_message();
    c.on_released();
  }
  BOOST_TEST(c.request_size() == 8u);  // half free: ask for it
}

BOOST_AUTO_TEST_CASE(with_nothing_outstanding_any_free_room_is_asked_for) {
  pull_credits c(16);
  c.on_request_sent(16, pull_credits::clock::now() + 30s);
  for (int i = 0; i < 16; ++i) BOOST_TEST(c.on_message());
  BOOST_TEST(c.open_requests() == 0u);  // filled
  BOOST_TEST(c.request_size() == 0u);   // all held
  for (int i = 0; i < 3; ++i) c.on_released();
  BOOST_TEST(c.request_size() == 3u);
}

BOOST_AUTO_TEST_CASE(held_plus_outstanding_never_exceeds_capacity) {
  pull_credits c(10);
  const auto t = pull_credits::clock::now() + 30s;
  std::size_t handed_out = 0;
  // A consumer that takes messages one at a time while requests are issued whenever allowed.
  for (int step = 0; step < 1000; ++step) {
    if (auto n = c.request_size()) c.on_request_sent(n, t);
    BOOST_REQUIRE(c.held() + c.outstanding() <= c.capacity());
    if (c.outstanding() > 0) c.on_message();
    if (step % 3 == 0 && c.held() > 0) {
      c.on_released();
      ++handed_out;
    }
    BOOST_REQUIRE(c.held() <= c.capacity());
  }
  BOOST_TEST(handed_out > 300u);
}

BOOST_AUTO_TEST_CASE(requests_are_few_and_large) {
  pull_credits c(100);
  const auto t = pull_credits::clock::now() + 30s;
  int requests = 0;
  for (int i = 0; i < 10000; ++i) {
    if (auto n = c.request_size()) {
      BOOST_REQUIRE(n >= 50u);  // never a trickle of tiny requests
      c.on_request_sent(n, t);
      ++requests;
    }
    c.on_message();
    c.on_released();
  }
  BOOST_TEST(requests <= 10000 / 50 + 1);
}

BOOST_AUTO_TEST_CASE(a_server_ended_request_frees_its_unfilled_part) {
  pull_credits c(20);
  const auto t = pull_credits::clock::now() + 30s;
  const auto first = c.on_request_sent(20, t);
  for (int i = 0; i < 5; ++i) c.on_message();
  BOOST_TEST(c.outstanding() == 15u);
  c.on_request_ended(first);  // e.g. 408 request timeout
  BOOST_TEST(c.outstanding() == 0u);
  BOOST_TEST(c.open_requests() == 0u);
  BOOST_TEST(c.request_size() == 15u);
  c.on_request_ended(first);  // twice is harmless
  BOOST_TEST(c.outstanding() == 0u);
}

BOOST_AUTO_TEST_CASE(expired_requests_and_reset_forget_what_was_promised) {
  pull_credits c(20);
  const auto now = pull_credits::clock::now();
  c.on_request_sent(10, now + 1s);
  c.on_request_sent(10, now + 60s);
  c.expire(now + 2s);
  BOOST_TEST(c.outstanding() == 10u);
  BOOST_TEST(c.open_requests() == 1u);
  c.reset();
  BOOST_TEST(c.outstanding() == 0u);
  BOOST_TEST(c.request_size() == 20u);
  BOOST_TEST(c.on_message());  // unrequested (from a forgotten request), held while there is room
  BOOST_TEST(c.held() == 1u);
}

// After a reset the server may still fill requests it holds: whatever it sends, no more
// than the capacity is ever held; what finds no room is refused (to be given back).
BOOST_AUTO_TEST_CASE(messages_of_forgotten_requests_never_overfill) {
  pull_credits c(8);
  const auto far = pull_credits::clock::now() + 60s;
  c.on_request_sent(c.request_size(), far);  // 8 asked for
  c.reset();                                 // reconnected: forgotten, but alive on the server
  c.on_request_sent(c.request_size(), far);  // 8 more
  int held = 0, refused = 0;
  for (int i = 0; i < 16; ++i) (c.on_message() ? held : refused)++;  // both requests filled
  BOOST_TEST(held == 8);
  BOOST_TEST(refused == 8);
  BOOST_TEST(c.held() == 8u);
  BOOST_TEST(c.outstanding() == 0u);
  for (int i = 0; i < 3; ++i) c.on_released();
  BOOST_TEST(c.on_message());  // room again
  BOOST_TEST(c.held() == 6u);
}

BOOST_AUTO_TEST_CASE(the_watchdog_fires_after_the_missed_heartbeats) {
  heartbeat_watchdog w(5s, 2);
  const auto t0 = heartbeat_watchdog::clock::now();
  w.on_activity(t0);
  BOOST_TEST(!w.expired(t0 + 9s));
  BOOST_TEST(w.expired(t0 + 11s));
  w.on_activity(t0 + 9s);
  BOOST_TEST(!w.expired(t0 + 11s));
  BOOST_TEST((w.deadline() == t0 + 19s));
}

BOOST_AUTO_TEST_CASE(ack_subjects_of_both_formats_parse) {
  auto v1 = nc::message_metadata::parse("$JS.ACK.AUTH_EVENTS.analytics.2.1042.17.1732356000123456789.5");
  BOOST_REQUIRE(v1);
  BOOST_TEST(v1->stream == "AUTH_EVENTS");
  BOOST_TEST(v1->consumer == "analytics");
  BOOST_TEST(v1->num_delivered == 2u);
  BOOST_TEST(v1->stream_sequence == 1042u);
  BOOST_TEST(v1->consumer_sequence == 17u);
  BOOST_TEST(v1->num_pending == 5u);
  BOOST_TEST(v1->domain.empty());
  BOOST_TEST(std::chrono::duration_cast<std::chrono::microseconds>(v1->timestamp.time_since_epoch()).count() ==
             1732356000123456LL);

  auto v2 = nc::message_metadata::parse("$JS.ACK.hub.ACCHASH.ORDERS.billing.1.7.3.1732356000000000000.0.xyz");
  BOOST_REQUIRE(v2);
  BOOST_TEST(v2->domain == "hub");
  BOOST_TEST(v2->stream == "ORDERS");
  BOOST_TEST(v2->consumer == "billing");
  BOOST_TEST(v2->stream_sequence == 7u);
  auto v2_no_domain = nc::message_metadata::parse("$JS.ACK._.ACCHASH.ORDERS.billing.1.7.3.1732356000000000000.0");
  BOOST_REQUIRE(v2_no_domain);
  BOOST_TEST(v2_no_domain->domain.empty());

  for (const char* bad : {"", "$JS.ACK", "_INBOX.abc.1", "$JS.ACK.S.C.x.1.1.1.1", "$JS.ACK.S.C.1.1.1.1",
                          "$JS.ACK.S.C.1.1.1.1.1.1", "$JS.NAK.S.C.1.1.1.1.1", "$JS.ACK..C.1.1.1.1.1"})
    BOOST_TEST(!nc::message_metadata::parse(bad).has_value(), bad);
}

BOOST_AUTO_TEST_SUITE_END()

#include <natscoro/detail/jetstream_api.hpp>

#include <boost/json.hpp>

BOOST_AUTO_TEST_SUITE(consumer_configuration)

BOOST_AUTO_TEST_CASE(a_config_maps_to_the_api_json) {
  nc::consumer_config cfg;
  cfg.durable = "analytics";
  cfg.filter_subject = "auth.user.>";
  cfg.ack_wait = 30s;
  cfg.max_deliver = 5;
  cfg.backoff = {1s, 5s};
  cfg.deliver = nc::deliver_policy::by_start_sequence;
  cfg.start_sequence = 42;
  const auto j = nc::detail::to_json(cfg);
  BOOST_TEST(j.at("durable_name").as_string() == "analytics");
  BOOST_TEST(j.at("ack_policy").as_string() == "explicit");
  BOOST_TEST(j.at("ack_wait").as_int64() == 1'000'000'000LL);  // the server takes backoff[0] as ack_wait
  BOOST_TEST(j.at("backoff").as_array().size() == 2u);
  cfg.backoff.clear();
  BOOST_TEST(nc::detail::to_json(cfg).at("ack_wait").as_int64() == 30'000'000'000LL);
  BOOST_TEST(j.at("deliver_policy").as_string() == "by_start_sequence");
  BOOST_TEST(j.at("opt_start_seq").as_uint64() == 42u);
  BOOST_TEST(!j.contains("opt_start_time"));
}

BOOST_AUTO_TEST_CASE(the_diff_lists_what_differs_and_whether_it_can_change) {
  nc::consumer_config cfg;
  cfg.durable = "analytics";
  cfg.filter_subject = "auth.user.>";
  cfg.max_deliver = 5;
  // What a server echoes for that config, plus defaults it fills in itself.
  auto server = nc::detail::to_json(cfg);
  server["max_waiting"] = 512;
  server["opt_start_seq"];
  server.erase("opt_start_seq");
  BOOST_TEST(nc::detail::compare(cfg, server).empty());

  server["max_deliver"] = 3;
  server["filter_subject"] = "auth.>";
  const auto diff = nc::detail::compare(cfg, server);
  BOOST_REQUIRE(diff.size() == 2u);
  const auto text = nc::detail::describe(diff);
  BOOST_TEST(text.find("max_deliver: server 3, wanted 5") != std::string::npos, text);
  BOOST_TEST(
      text.find("filter_subject: server \"auth.>\", wanted \"auth.user.>\" (cannot be changed)") != std::string::npos,
      text);
  for (const auto& d : diff) BOOST_TEST(d.updatable == (d.field == "max_deliver"));
}

BOOST_AUTO_TEST_SUITE_END()
