// Stream configurations against what the server reports: no server.
#include <natscoro/detail/jetstream_api.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

namespace nc = natscoro;
namespace json = boost::json;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(stream_configuration)

namespace {

nc::stream_config auth_events() {
  nc::stream_config s;
  s.name = "AUTH_EVENTS";
  s.subjects = {"auth.>", "login.>"};
  s.max_age = std::chrono::hours(168);
  return s;
}

// What nats-server 2.9 reports for auth_events(): subjects in its own order, no description, no false flags.
json::object as_reported() {
  auto o = nc::detail::to_json(auth_events());
  o["subjects"] = json::array{"login.>", "auth.>"};
  o.erase("allow_rollup_hdrs");
  o.erase("deny_delete");
  o["max_consumers"] = -1;  // a field natscoro does not manage
  return o;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_same_configuration_as_reported_has_no_differences) {
  BOOST_TEST(nc::detail::compare(auth_events(), as_reported()).empty());
}

BOOST_AUTO_TEST_CASE(each_difference_names_the_field_and_whether_it_can_change) {
  auto wanted = auth_events();
  wanted.max_age = std::chrono::hours(24);
  wanted.storage = nc::storage_type::memory;
  const auto diffs = nc::detail::compare(wanted, as_reported());
  BOOST_REQUIRE(diffs.size() == 2u);
  for (const auto& d : diffs) {
    if (d.field == "max_age") {
      BOOST_TEST(d.updatable);
      BOOST_TEST(d.wanted == "86400000000000");
    } else {
      BOOST_TEST(d.field == "storage");
      BOOST_TEST(!d.updatable);
      BOOST_TEST(d.server == "\"file\"");
    }
  }
  BOOST_TEST(nc::detail::describe(diffs).find("storage: server \"file\", wanted \"memory\" (cannot be changed)") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(deny_delete_once_set_cannot_be_taken_back) {
  auto reported = as_reported();
  reported["deny_delete"] = true;
  const auto diffs = nc::detail::compare(auth_events(), reported);
  BOOST_REQUIRE(diffs.size() == 1u);
  BOOST_TEST(!diffs[0].updatable);
  auto wanted = auth_events();
  wanted.deny_delete = true;
  BOOST_TEST(nc::detail::compare(wanted, as_reported()).front().updatable);  // false -> true is fine
}

BOOST_AUTO_TEST_CASE(a_reported_configuration_reads_back) {
  auto cfg = auth_events();
  cfg.retention = nc::retention_policy::work_queue;
  cfg.discard = nc::discard_policy::new_messages;
  cfg.max_msgs_per_subject = 10;
  cfg.allow_rollup = true;
  const auto back = nc::detail::stream_config_from_json(nc::detail::to_json(cfg));
  BOOST_TEST(nc::detail::compare(cfg, nc::detail::to_json(back)).empty());
  BOOST_TEST((back.retention == nc::retention_policy::work_queue));
  BOOST_TEST(back.max_msgs_per_subject == 10);
}

BOOST_AUTO_TEST_SUITE_END()

#include <natscoro/topology.hpp>

BOOST_AUTO_TEST_SUITE(topology_files)

namespace {

// The detail a bad topology is refused with.
std::string refusal(std::string_view text) {
  try {
    nc::parse_topology(text);
  } catch (const nc::error& e) {
    BOOST_TEST(e.code() == nc::errc::invalid_argument);
    return e.detail();
  }
  return "accepted";
}

}  // namespace

BOOST_AUTO_TEST_CASE(durations_and_sizes_have_human_units) {
  BOOST_TEST(nc::parse_duration("30s")->count() == 30'000'000'000LL);
  BOOST_TEST(nc::parse_duration("7d")->count() == 7LL * 24 * 3600 * 1'000'000'000LL);
  BOOST_TEST(nc::parse_duration("1h30m")->count() == 5400LL * 1'000'000'000LL);
  BOOST_TEST(nc::parse_duration("250ms")->count() == 250'000'000LL);
  for (const char* bad : {"", "7", "d", "7x", "-1s", "1.5h", "s30"}) BOOST_TEST(!nc::parse_duration(bad), bad);
  BOOST_TEST(*nc::parse_size("1GB") == 1LL << 30);
  BOOST_TEST(*nc::parse_size("64kb") == 64LL * 1024);
  BOOST_TEST(*nc::parse_size("512") == 512);
  for (const char* bad : {"", "GB", "-1GB", "1.5GB", "1XB"}) BOOST_TEST(!nc::parse_size(bad), bad);
  // Out of range: a single part, and parts that only add up past it (they used to wrap to negative).
  for (const char* bad :
       {"9223372037s", "106752d", "9223372036s1s", "106751d1d", "99999999999999999999ns", "9999999TB"})
    BOOST_TEST((!nc::parse_duration(bad) && !nc::parse_size(bad)), bad);
  BOOST_TEST(nc::parse_duration("9223372036s")->count() == 9223372036'000'000'000LL);
}

BOOST_AUTO_TEST_CASE(durations_and_sizes_are_shown_in_the_units_they_are_read_in) {
  using namespace std::chrono;
  BOOST_TEST(nc::format_duration(hours(24 * 180)) == "180d");
  BOOST_TEST(nc::format_duration(minutes(2)) == "2m");
  BOOST_TEST(nc::format_duration(minutes(90)) == "1h30m");
  BOOST_TEST(nc::format_duration(milliseconds(1500)) == "1s500ms");
  BOOST_TEST(nc::format_duration(nanoseconds(0)) == "0s");
  BOOST_TEST(nc::format_duration(-seconds(5)) == "-5s");
  for (const auto d :
       {nanoseconds(1), nanoseconds(123'456'789'012), nanoseconds(hours(24 * 365) + seconds(1)), nanoseconds::max()})
    BOOST_TEST(nc::parse_duration(nc::format_duration(d))->count() == d.count(), nc::format_duration(d));
  BOOST_TEST(nc::format_size(64LL << 20) == "64MB");
  BOOST_TEST(nc::format_size(1536) == "1536B");
  BOOST_TEST(nc::format_size(0) == "0B");
  BOOST_TEST(nc::format_size(-1) == "-1");
  for (const std::int64_t n : {std::int64_t{1}, std::int64_t{1} << 40, std::int64_t{3} << 30, std::int64_t{1000}})
    BOOST_TEST(*nc::parse_size(nc::format_size(n)) == n);
}

// Every number is checked against what its field holds and the server accepts, by name;
// a number beyond int64 is refused instead of escaping as another exception.
BOOST_AUTO_TEST_CASE(numbers_out_of_range_are_refused_by_field) {
  const std::string stream = R"({"name": "A", "subjects": ["a.>"])";
  const std::string consumer = R"({"stream": "A", "durable": "c")";
  auto in_stream = [&](const std::string& field) {
    return refusal(R"({"streams": [)" + stream + ", " + field + "}]}");
  };
  auto in_consumer = [&](const std::string& field) {
    return refusal(R"({"streams": [)" + stream + R"(}], "consumers": [)" + consumer + ", " + field + "}]}");
  };
  BOOST_TEST(
      in_stream(R"("max_msgs": 18446744073709551615)") ==
      "streams[0] \"A\": max_msgs: expected a whole number from -1 to 9223372036854775807, got 18446744073709551615");
  BOOST_TEST(
      in_stream(R"("max_bytes": 9223372036854775808)") ==
      "streams[0] \"A\": max_bytes: expected a whole number from -1 to 9223372036854775807, got 9223372036854775808");
  BOOST_TEST(in_stream(R"("max_msg_size": 2147483648)") ==
             "streams[0] \"A\": max_msg_size: expected a whole number from -1 to 2147483647, got 2147483648");
  BOOST_TEST(in_stream(R"("max_msg_size": "2GB")") ==
             "streams[0] \"A\": max_msg_size: \"2GB\" is more than the largest size the field holds, 2147483647 bytes");
  BOOST_TEST(in_stream(R"("replicas": 4294967297)") ==
             "streams[0] \"A\": replicas: expected a whole number from 1 to 5, got 4294967297");
  BOOST_TEST(in_stream(R"("max_age": "106751d1d")") ==
             "streams[0] \"A\": max_age: expected a duration like \"30s\" or \"7d\", got \"106751d1d\"");
  BOOST_TEST(in_consumer(R"("max_deliver": 2147483648)") ==
             "consumers[0] \"A/c\": max_deliver: expected a whole number from -1 to 2147483647, got 2147483648");
  BOOST_TEST(in_consumer(R"("max_ack_pending": -2)") ==
             "consumers[0] \"A/c\": max_ack_pending: expected a whole number from -1 to 2147483647, got -2");
  BOOST_TEST(in_consumer(R"("replicas": 6)") ==
             "consumers[0] \"A/c\": replicas: expected a whole number from 0 to 5, got 6");
  BOOST_TEST(in_consumer(R"("deliver": "by_start_sequence", "start_sequence": 18446744073709551615)") ==
             "consumers[0] \"A/c\": start_sequence: expected a whole number from 1 to 9223372036854775807, got "
             "18446744073709551615");
  BOOST_TEST(in_consumer(R"("deliver": "by_start_time", "start_time": "9999-01-01T00:00:00Z")") ==
             "consumers[0] \"A/c\": start_time: expected an RFC 3339 time from 1678 to 2261, got "
             "\"9999-01-01T00:00:00Z\"");
  BOOST_TEST(refusal(R"({"streams": [{"name": "A", "subjects": ["a.>", "b c"]}]})") ==
             "streams[0] \"A\": subjects: subject \"b c\" is not a subject (non-empty tokens; '*' and a last '>' "
             "only as whole tokens; no spaces or control characters)");
  BOOST_TEST(
      in_consumer(R"("filter_subject": "a.>.b")").find("consumers[0] \"A/c\": filter_subject: subject \"a.>.b\"") ==
      0u);
  BOOST_TEST(in_consumer(R"("max_deliver": 1e3)") ==
             "consumers[0] \"A/c\": max_deliver: expected a whole number, got 1E3");
}

BOOST_AUTO_TEST_CASE(the_documented_shape_parses) {
  const auto t = nc::parse_topology(R"({
    "streams":   [{"name": "AUTH_EVENTS", "subjects": ["auth.>"], "retention": "limits", "storage": "file",
                   "max_age": "7d", "max_bytes": "1GB", "replicas": 1, "duplicate_window": "2m"}],
    "consumers": [{"stream": "AUTH_EVENTS", "durable": "analytics", "filter_subject": "auth.user.>",
                   "ack_wait": "30s", "max_deliver": 5, "backoff": ["1s", "5s", "30s"]}]})");
  BOOST_REQUIRE(t.streams.size() == 1u);
  BOOST_TEST(t.streams[0].max_bytes == 1LL << 30);
  BOOST_TEST(t.streams[0].max_age.count() == 7LL * 24 * 3600 * 1'000'000'000LL);
  BOOST_REQUIRE(t.consumers.size() == 1u);
  BOOST_TEST(t.consumers[0].stream == "AUTH_EVENTS");
  BOOST_TEST(t.consumers[0].config.backoff.size() == 3u);
  BOOST_TEST(t.consumers[0].config.max_deliver == 5);
}

BOOST_AUTO_TEST_CASE(a_bad_file_is_refused_saying_where_and_what) {
  BOOST_TEST(refusal(R"({"streams": [{"subjects": ["a.>"]}]})") == "streams[0]: missing \"name\"");
  BOOST_TEST(
      refusal(R"({"streams": [{"name": "A", "subjects": ["a.>"], "max_bytes": "-5GB"}]})") ==
      "streams[0] \"A\": max_bytes: expected a size like \"1GB\" (KB, MB, GB are 1024-based) or -1, got \"-5GB\"");
  BOOST_TEST(refusal(R"({"streams": [{"name": "A", "subjects": ["a.>"], "max_age": "7x"}]})") ==
             "streams[0] \"A\": max_age: expected a duration like \"30s\" or \"7d\", got \"7x\"");
  BOOST_TEST(refusal(R"({"streams": [{"name": "A", "subjects": ["a.>"], "max_ages": "7d"}]})") ==
             "streams[0] \"A\": unknown field \"max_ages\"");
  BOOST_TEST(refusal(R"({"streams": [{"name": "A", "subjects": ["a.>"]}, {"name": "B", "subjects": ["a.b.*"]}]})") ==
             "streams[1] \"B\": subjects: \"a.b.*\" overlaps \"a.>\" of stream \"A\"");
  BOOST_TEST(refusal(R"({"streams": [{"name": "A", "subjects": ["a.>"], "storage": "disk"}]})") ==
             "streams[0] \"A\": storage: expected one of \"file\", \"memory\", got \"disk\"");
  BOOST_TEST(refusal(R"({"consumers": [{"stream": "A", "durable": "c"}]})") ==
             "consumers[0] \"A/c\": stream: \"A\" is not among the streams of the file");
  BOOST_TEST(refusal(R"({"streams": [{"name": "A", "subjects": ["a.>"]}],
                        "consumers": [{"stream": "A", "durable": "c", "max_deliver": 3, "backoff": ["1s", "2s", "3s"]}]})") ==
             "consumers[0] \"A/c\": backoff: 3 delays need max_deliver above 3 (the server's rule), got 3");
  BOOST_TEST(refusal(R"({"streams": [], "extra": 1})") == "the topology: unknown field \"extra\"");
  BOOST_TEST(refusal("{not json").find("the topology: not valid JSON") == 0u);
  // Subjects that only look alike do not overlap.
  BOOST_TEST(refusal(R"({"streams": [{"name": "A", "subjects": ["a.*"]}, {"name": "B", "subjects": ["a.b.c"]}]})") ==
             "accepted");
}

BOOST_AUTO_TEST_CASE(the_seed_topologies_parse) {
  for (const char* name : {"aml", "deltran", "giia"}) {
    const auto t = nc::load_topology(std::string(NATSCORO_TOPOLOGIES) + "/" + name + ".json");
    BOOST_TEST(!t.streams.empty(), name);
  }
  BOOST_TEST(nc::load_topology(std::string(NATSCORO_TOPOLOGIES) + "/deltran.json").streams.size() == 8u);
  BOOST_TEST(nc::load_topology(std::string(NATSCORO_TOPOLOGIES) + "/giia.json").streams.size() == 7u);
}

// One file for development and production: every stream replicated N times.
BOOST_AUTO_TEST_CASE(with_replicas_replicates_every_stream_within_what_jetstream_allows) {
  const auto t = nc::with_replicas(nc::load_topology(std::string(NATSCORO_TOPOLOGIES) + "/deltran.json"), 3);
  for (const auto& s : t.streams) BOOST_TEST(s.replicas == 3, s.name);
  for (const auto& c : t.consumers) BOOST_TEST(c.config.replicas == 0, c.config.durable);  // as the stream
  for (int bad : {0, -1, 6}) {
    try {
      nc::with_replicas(t, bad);
      BOOST_FAIL("replicas " << bad << " accepted");
    } catch (const nc::error& e) {
      BOOST_TEST((e.code() == nc::errc::out_of_range));
      BOOST_TEST(std::string(e.what()).find("replicas: expected 1 to 5") != std::string::npos, e.what());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
