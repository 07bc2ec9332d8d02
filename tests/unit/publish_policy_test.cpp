// The retry schedule and the JetStream replies a publisher interprets.
#include <natscoro/detail/jetstream_api.hpp>
#include <natscoro/retry_policy.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

namespace nc = natscoro;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(publish_policy)

BOOST_AUTO_TEST_CASE(the_users_schedule_is_1_2_4_seconds) {
  const nc::retry_policy p{4, {1s, 2s, 4s}};
  BOOST_TEST(p.nominal_delay(1).count() == 1000);
  BOOST_TEST(p.nominal_delay(2).count() == 2000);
  BOOST_TEST(p.nominal_delay(3).count() == 4000);
}

BOOST_AUTO_TEST_CASE(past_the_schedule_the_last_delay_doubles_up_to_the_cap) {
  const nc::retry_policy p{10, {100ms}, 1s};
  BOOST_TEST(p.nominal_delay(1).count() == 100);
  BOOST_TEST(p.nominal_delay(2).count() == 200);
  BOOST_TEST(p.nominal_delay(4).count() == 800);
  BOOST_TEST(p.nominal_delay(5).count() == 1000);
  BOOST_TEST(p.nominal_delay(60).count() == 1000);
  const nc::retry_policy immediate{3, {}};
  BOOST_TEST(immediate.nominal_delay(1).count() == 0);
}

BOOST_AUTO_TEST_CASE(jitter_stays_within_its_band) {
  const nc::retry_policy p{4, {1s}, 30s, 0.2};
  BOOST_TEST(p.delay(1, 0.0).count() == 800);
  BOOST_TEST(p.delay(1, 0.5).count() == 1000);
  BOOST_TEST(p.delay(1, 0.999999).count() == 1200);
  const nc::retry_policy none{4, {1s}, 30s, 0.0};
  BOOST_TEST(none.delay(1, 0.7).count() == 1000);
}

BOOST_AUTO_TEST_CASE(pub_acks_and_errors_are_parsed) {
  nc::pub_ack ack;
  std::string detail;
  BOOST_TEST(!nc::detail::parse_pub_ack(R"({"stream":"AUTH_EVENTS","seq":42})", ack, detail));
  BOOST_TEST(ack.stream == "AUTH_EVENTS");
  BOOST_TEST(ack.sequence == 42u);
  BOOST_TEST(!ack.duplicate);
  BOOST_TEST(!nc::detail::parse_pub_ack(R"({"stream":"S","seq":7,"duplicate":true})", ack, detail));
  BOOST_TEST(ack.duplicate);

  const auto ec = nc::detail::parse_pub_ack(
      R"({"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 3"}})", ack, detail);
  BOOST_TEST(ec == nc::jetstream_errc::wrong_last_sequence);
  BOOST_TEST(detail == "wrong last sequence: 3");

  BOOST_TEST(nc::detail::parse_pub_ack("garbage", ack, detail) == nc::nats_errc::protocol_error);
  BOOST_TEST(nc::detail::parse_pub_ack(R"({"stream":"S"})", ack, detail) == nc::nats_errc::protocol_error);
}

BOOST_AUTO_TEST_CASE(stream_config_maps_to_the_api_json) {
  nc::stream_config cfg;
  cfg.name = "AUTH_EVENTS";
  cfg.subjects = {"auth.>"};
  cfg.max_age = std::chrono::hours(24 * 7);
  cfg.max_bytes = 1 << 30;
  const auto j = nc::detail::to_json(cfg);
  BOOST_TEST(j.at("name").as_string() == "AUTH_EVENTS");
  BOOST_TEST(j.at("subjects").as_array().at(0).as_string() == "auth.>");
  BOOST_TEST(j.at("max_age").as_int64() == 7LL * 24 * 3600 * 1000000000LL);
  BOOST_TEST(j.at("retention").as_string() == "limits");
  BOOST_TEST(j.at("storage").as_string() == "file");
  BOOST_TEST(j.at("duplicate_window").as_int64() == 120LL * 1000000000LL);
}

BOOST_AUTO_TEST_SUITE_END()
