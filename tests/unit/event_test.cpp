// CloudEvents: validation, RFC 3339 time, and the envelope codec in both modes.
#include <natscoro/detail/envelope_codec.hpp>
#include <natscoro/detail/trace_parent.hpp>
#include <natscoro/event.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>
#include <unistd.h>

namespace nc = natscoro;
using nc::detail::decode_event;
using nc::detail::encode_event;

namespace {

nc::event sample() {
  nc::event e = nc::event::make("user.created", "org-42", boost::json::object{{"user_id", 7}, {"name", "Zoë \"Z\""}});
  e.source = "auth-service";
  e.subject = "users/7";
  e.dataschema = "https://example.com/schemas/user-created.json";
  e.correlationid = "corr-1";
  e.causationid = "cause-1";
  e.extensions["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  return e;
}

struct account {
  std::string owner;
  int balance = 0;
};
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const account& a) {
  v = {{"owner", a.owner}, {"balance", a.balance}};
}
account tag_invoke(boost::json::value_to_tag<account>, const boost::json::value& v) {
  return {boost::json::value_to<std::string>(v.at("owner")), boost::json::value_to<int>(v.at("balance"))};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cloudevents)

BOOST_AUTO_TEST_CASE(make_fills_id_time_and_typed_data) {
  const auto e = nc::event::make("account.opened", "org-1", account{"ann", 10});
  BOOST_TEST(e.id.size() == 36u);  // UUID text
  BOOST_TEST(e.id[14] == '4');     // version 4
  BOOST_TEST(e.id != nc::event::make("x", "o").id);
  BOOST_TEST((e.time != nc::event::clock::time_point{}));
  const auto a = e.data_as<account>();
  BOOST_TEST(a.owner == "ann");
  BOOST_TEST(a.balance == 10);
  BOOST_CHECK_THROW(nc::event::make("x", "o", 5).data_as<account>(), nc::error);
}

BOOST_AUTO_TEST_CASE(validation_names_the_attribute) {
  auto expect_invalid = [](nc::event e, const std::string& attribute, bool require_org = true) {
    std::string detail;
    BOOST_TEST(e.validate(detail, require_org) == nc::errc::invalid_event);
    BOOST_TEST(detail.find(attribute) != std::string::npos, detail << " should name " << attribute);
    BOOST_CHECK_EXCEPTION(e.check(require_org), nc::error, [&](const nc::error& ex) {
      return std::string(ex.what()).find(attribute) != std::string::npos;
    });
  };
  std::string detail;
  BOOST_TEST(!sample().validate(detail));

  auto e = sample();
  e.source.clear();
  expect_invalid(e, "'source'");
  e = sample();
  e.type.clear();
  expect_invalid(e, "'type'");
  e = sample();
  e.id.clear();
  expect_invalid(e, "'id'");
  e = sample();
  e.specversion = "0.3";
  expect_invalid(e, "'specversion'");
  e = sample();
  e.time = {};
  expect_invalid(e, "'time'");
  e = sample();
  e.organizationid.clear();
  expect_invalid(e, "'organizationid'");
  BOOST_TEST(!e.validate(detail, false));  // tenant optional when the publisher says so
  e = sample();
  e.extensions["Bad-Name"] = "x";
  expect_invalid(e, "'Bad-Name'");
  e = sample();
  e.extensions["averyveryverylongname1"] = "x";
  expect_invalid(e, "averyveryverylongname1");
  e = sample();
  e.extensions["type"] = "x";
  expect_invalid(e, "'type'");
}

BOOST_AUTO_TEST_CASE(rfc3339_round_trips_and_accepts_offsets) {
  using namespace std::chrono;
  const auto t = sys_days{year{2026} / 11 / 23} + hours{10} + minutes{5} + seconds{7} + microseconds{123456};
  BOOST_TEST(nc::format_rfc3339(t) == "2026-11-23T10:05:07.123456Z");
  BOOST_TEST((nc::parse_rfc3339("2026-11-23T10:05:07.123456Z") == t));
  BOOST_TEST((nc::parse_rfc3339("2026-11-23T12:05:07.123456+02:00") == t));
  BOOST_TEST((nc::parse_rfc3339("2026-11-23T09:05:07.1234569-01:00") == t));  // nanoseconds cut to microseconds
  BOOST_TEST((nc::parse_rfc3339("2026-11-23T10:05:07Z") == t - microseconds{123456}));
  for (const char* bad : {"", "2026-11-23", "2026-13-01T00:00:00Z", "2026-11-23T10:05:07", "2026-11-23T10:05:07.Z",
                          "2026-11-23T25:00:00Z", "2026-11-23T10:05:07+0200", "2026-11-23T10:05:07Zjunk"})
    BOOST_TEST(!nc::parse_rfc3339(bad).has_value(), bad);
}

// Signs inside fields, and instants the nanosecond clock cannot hold (about 1677 to
// 2262), are refused rather than wrapped round to another time.
BOOST_AUTO_TEST_CASE(rfc3339_refuses_what_it_cannot_represent) {
  for (const char* bad :
       {"2026-11-23T-1:05:07Z", "2026-11-23T10:-5:07Z", "-026-11-23T10:05:07Z", "2026-11-23T10:05:07+-1:00",
        "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2262-04-12T00:00:00Z", "1677-09-21T00:00:00Z"})
    BOOST_TEST(!nc::parse_rfc3339(bad).has_value(), bad);
  BOOST_TEST(nc::parse_rfc3339("2262-04-10T00:00:00Z").has_value());
  BOOST_TEST(nc::parse_rfc3339("1677-09-22T00:00:00Z").has_value());
  BOOST_TEST(nc::parse_rfc3339("1970-01-01T00:00:00Z")->time_since_epoch().count() == 0);
}

BOOST_AUTO_TEST_CASE(structured_mode_round_trips) {
  const auto e = sample();
  const auto enc = encode_event(e, nc::event_encoding::structured);
  BOOST_TEST(enc.headers.size() == 1u);
  BOOST_TEST(enc.headers[0].first == "Content-Type");
  BOOST_TEST(enc.headers[0].second == "application/cloudevents+json");
  const auto doc = boost::json::parse(enc.body).as_object();
  BOOST_TEST(doc.at("organizationid").as_string() == "org-42");
  BOOST_TEST(doc.at("data").at("user_id").as_int64() == 7);

  nc::event back;
  std::string detail;
  BOOST_TEST(!decode_event(enc.headers, enc.body, back, detail), detail);
  BOOST_TEST((back == e));
  // Accepted without its Content-Type header as well.
  BOOST_TEST(!decode_event({}, enc.body, back, detail), detail);
  BOOST_TEST((back == e));
}

BOOST_AUTO_TEST_CASE(binary_mode_round_trips_with_percent_encoding) {
  auto e = sample();
  e.correlationid = "naïve value with spaces and \"quotes\" 100%";
  const auto enc = encode_event(e, nc::event_encoding::binary);
  bool saw_encoded = false;
  for (const auto& [k, v] : enc.headers) {
    BOOST_TEST(v.find(' ') == std::string::npos);
    if (k == "ce-correlationid") {
      saw_encoded = true;
      BOOST_TEST(v == "na%C3%AFve%20value%20with%20spaces%20and%20%22quotes%22%20100%25");
    }
  }
  BOOST_TEST(saw_encoded);
  BOOST_TEST(boost::json::parse(enc.body).at("user_id").as_int64() == 7);  // data alone in the body

  nc::event back;
  std::string detail;
  BOOST_TEST(!decode_event(enc.headers, enc.body, back, detail), detail);
  BOOST_TEST((back == e));
}

BOOST_AUTO_TEST_CASE(binary_mode_carries_non_json_data_as_text) {
  auto e = sample();
  e.datacontenttype = "text/plain";
  e.data = "hello, world";
  const auto enc = encode_event(e, nc::event_encoding::binary);
  BOOST_TEST(enc.body == "hello, world");
  nc::event back;
  std::string detail;
  BOOST_TEST(!decode_event(enc.headers, enc.body, back, detail), detail);
  BOOST_TEST((back == e));
}

BOOST_AUTO_TEST_CASE(garbage_is_invalid_event_never_a_crash) {
  nc::event out;
  std::string detail;
  const std::vector<std::string> bodies = {"",
                                           "not json",
                                           "[1,2,3]",
                                           "{\"specversion\":\"1.0\"}",
                                           "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":7}",
                                           "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"t\","
                                           "\"time\":\"yesterday\"}",
                                           std::string("\0\xff\xfe{", 4)};
  for (const auto& body : bodies) {
    BOOST_TEST(decode_event({}, body, out, detail) == nc::errc::invalid_event, body);
    BOOST_TEST(!detail.empty());
  }
  BOOST_TEST(decode_event({{"ce-specversion", "1.0"}, {"ce-id", "%zz"}}, "", out, detail) == nc::errc::invalid_event);
  BOOST_TEST(decode_event({{"ce-specversion", "1.0"},
                           {"ce-id", "1"},
                           {"ce-source", "s"},
                           {"ce-type", "t"},
                           {"Content-Type", "application/json"}},
                          "{oops", out, detail) == nc::errc::invalid_event);
  BOOST_TEST(detail.find("not JSON") != std::string::npos);
  std::string decoded;
  BOOST_TEST(!nc::detail::percent_decode("abc%4", decoded));
  BOOST_TEST(!nc::detail::percent_decode("%", decoded));
}

// Valid events other producers send: binary data as data_base64, data nested deeper
// than Boost.JSON's default depth of 32. Absurd depth is still refused, not a crash.
BOOST_AUTO_TEST_CASE(binary_data_and_deep_data_are_valid_events) {
  const std::string head = R"({"specversion":"1.0","id":"1","source":"s","type":"t",)";
  nc::event out;
  std::string detail;
  BOOST_TEST(
      !decode_event({}, head + R"("datacontenttype":"application/octet-stream","data_base64":"AAH/"})", out, detail),
      detail);
  BOOST_TEST(out.data.as_string() == std::string("\0\x01\xff", 3));
  BOOST_TEST(decode_event({}, head + R"("data_base64":"not base64!"})", out, detail) == nc::errc::invalid_event);
  BOOST_TEST(detail == "attribute 'data_base64' is not base64");

  auto nested = [&](std::size_t depth) {
    return head + "\"data\":" + std::string(depth, '[') + std::string(depth, ']') + "}";
  };
  BOOST_TEST(!decode_event({}, nested(100), out, detail), detail);
  BOOST_TEST(!decode_event({}, nested(nc::detail::max_json_depth - 1), out, detail), detail);
  BOOST_TEST(decode_event({}, nested(100'000), out, detail) == nc::errc::invalid_event);
  BOOST_TEST(detail.find("not JSON") != std::string::npos);
}

// A forked child reseeds its generator: with the parent's copied state it would
// produce the very ids the parent produces next.
BOOST_AUTO_TEST_CASE(a_forked_child_does_not_repeat_its_parents_event_ids) {
  (void)natscoro::new_event_id();  // the parent's generator exists before the fork
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  const pid_t child = ::fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    const std::string id = natscoro::new_event_id();
    const auto written = ::write(fds[1], id.data(), id.size());
    ::_exit(written == static_cast<ssize_t>(id.size()) ? 0 : 1);
  }
  ::close(fds[1]);
  const std::string parent_id = natscoro::new_event_id();
  char buffer[64] = {};
  const auto n = ::read(fds[0], buffer, sizeof buffer);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  BOOST_REQUIRE(n == static_cast<ssize_t>(parent_id.size()));
  BOOST_TEST(std::string(buffer, static_cast<std::size_t>(n)) != parent_id);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);
}

// W3C traceparent: checked, started, continued into follow-ups with the causation chain.
BOOST_AUTO_TEST_CASE(traces_start_continue_and_are_checked) {
  using natscoro::detail::trace_parent;
  const auto t = trace_parent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  BOOST_REQUIRE(t.has_value());
  BOOST_TEST(t->trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  BOOST_TEST(t->parent_id == "00f067aa0ba902b7");
  for (const char* bad : {"", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                          "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                          "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"})
    BOOST_TEST(!trace_parent::parse(bad).has_value(), bad);
  const auto child = t->child();
  BOOST_TEST(child.trace_id == t->trace_id);
  BOOST_TEST(child.parent_id != t->parent_id);
  BOOST_TEST(trace_parent::parse(child.text()).has_value());
  BOOST_TEST(trace_parent::fresh().trace_id != trace_parent::fresh().trace_id);

  auto cause = nc::event::make("order.placed", "org-1");
  cause.source = "shop";
  cause.start_trace();
  const std::string started = cause.extensions.at("traceparent");
  cause.start_trace();  // one already: kept
  BOOST_TEST(cause.extensions.at("traceparent") == started);
  cause.extensions["tracestate"] = "vendor=1";
  auto next = cause.follow_up("invoice.requested");
  BOOST_TEST(next.type == "invoice.requested");
  BOOST_TEST(next.organizationid == "org-1");
  BOOST_TEST(next.causationid.value() == cause.id);
  BOOST_TEST(next.correlationid.value() == cause.id);  // the cause had none: its id starts the chain
  BOOST_TEST(next.id != cause.id);
  const auto continued = trace_parent::parse(next.extensions.at("traceparent"));
  BOOST_REQUIRE(continued.has_value());
  BOOST_TEST(continued->trace_id == trace_parent::parse(started)->trace_id);
  BOOST_TEST(continued->parent_id != trace_parent::parse(started)->parent_id);
  BOOST_TEST(next.extensions.at("tracestate") == "vendor=1");
  BOOST_TEST(next.follow_up("x").correlationid.value() == cause.id);  // the chain keeps its correlation

  cause.extensions["traceparent"] = "not a trace\x1b[2J";
  std::string detail;
  BOOST_TEST((cause.validate(detail) == nc::errc::invalid_event));
  BOOST_TEST(detail.find("'traceparent' is not a W3C traceparent") != std::string::npos, detail);
  BOOST_TEST(detail.find('\x1b') == std::string::npos);  // shown escaped
}

BOOST_AUTO_TEST_SUITE_END()
