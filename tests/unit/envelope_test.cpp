// Envelopes: reading the events other services publish (no I/O).
#include <natscoro/envelope.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

namespace nc = natscoro;
using natscoro::header_list;

namespace {

nc::message_metadata stored_at(std::uint64_t sequence) {
  nc::message_metadata md;
  md.stream = "AML_EVENTS";
  md.stream_sequence = sequence;
  md.timestamp = *nc::parse_rfc3339("2026-11-30T08:00:00Z");
  return md;
}

struct decoded {
  nc::error_code ec;
  nc::event evt;
  std::string detail;
};

decoded decode(const nc::envelope& env, std::string_view subject, const header_list& headers, std::string_view body,
               std::uint64_t sequence = 31) {
  const auto md = stored_at(sequence);
  decoded out;
  out.ec = env.decode(nc::envelope_input{subject, headers, body, md}, out.evt, out.detail);
  return out;
}

// DelTran's envelope (seed 002), as its Rust services serialize it.
nc::json_envelope_fields deltran_fields() {
  nc::json_envelope_fields f;
  f.id = "/event_id";
  f.type = "/event_type";
  f.time = "/timestamp";
  f.source = "/source";
  f.schemaversion = "/version";
  f.correlationid = "/metadata/correlation_id";
  f.extensions["userid"] = "/metadata/user_id";
  return f;
}

constexpr std::string_view deltran_body = R"({"event_id":"6f1c2a34-0d5e-4b8e-9a61-3c0f1d2e4b5a",
  "event_type":"transaction.created","timestamp":"2025-11-06T12:00:00.123456789Z","source":"token-engine",
  "version":"1.0","data":{"transaction_id":"t-1","amount":1000.0,"currency":"USD"},
  "metadata":{"correlation_id":"c-9","user_id":"u-3"}})";

}  // namespace

BOOST_AUTO_TEST_SUITE(envelope)

BOOST_AUTO_TEST_CASE(plain_json_takes_the_type_from_the_subject_and_the_id_from_nats_msg_id) {
  const auto env = nc::envelope::plain_json({.type_skip_tokens = 1});
  const auto with_id = decode(env, "aml.customer.created", {{"Nats-Msg-Id", "cust-7"}}, R"({"customer_id":7})");
  BOOST_TEST(!with_id.ec, with_id.detail);
  BOOST_TEST(with_id.evt.type == "customer.created");
  BOOST_TEST(with_id.evt.id == "cust-7");
  BOOST_TEST(with_id.evt.source == "AML_EVENTS");
  BOOST_TEST(with_id.evt.data.at("customer_id").as_int64() == 7);
  BOOST_TEST(nc::format_rfc3339(with_id.evt.time) == "2026-11-30T08:00:00.000000Z");

  // Without a message id, the stream position names it: stable across redeliveries.
  const auto without = decode(env, "aml.transaction.ingested", {}, "[1,2]", 32);
  BOOST_TEST(!without.ec, without.detail);
  BOOST_TEST(without.evt.id == "AML_EVENTS/32");
  BOOST_TEST(without.evt.data.as_array().size() == 2u);
}

BOOST_AUTO_TEST_CASE(plain_json_refuses_a_body_that_is_not_json_and_a_subject_with_no_type) {
  const auto env = nc::envelope::plain_json({.type_skip_tokens = 1});
  const auto bad = decode(env, "aml.customer.created", {}, "{\"customer_id\":");
  BOOST_TEST(bad.ec == nc::errc::invalid_event);
  BOOST_TEST(bad.detail.find("body is not JSON") != std::string::npos, bad.detail);
  const auto short_subject = decode(env, "aml", {}, "{}");
  BOOST_TEST(short_subject.ec == nc::errc::invalid_event);
  BOOST_TEST(short_subject.detail.find("'type' is missing") != std::string::npos, short_subject.detail);
}

BOOST_AUTO_TEST_CASE(raw_keeps_the_bytes_and_the_content_type) {
  const std::string bytes("\x00\xff\x01 not json", 13);
  const auto env = nc::envelope::raw({.source = "/sensors"});
  const auto out = decode(env, "telemetry.reading", {{"content-type", "application/x-protobuf"}}, bytes);
  BOOST_TEST(!out.ec, out.detail);
  BOOST_TEST(out.evt.type == "telemetry.reading");
  BOOST_TEST(out.evt.source == "/sensors");
  BOOST_TEST(out.evt.datacontenttype == "application/x-protobuf");
  BOOST_TEST(std::string_view(out.evt.data.as_string()) == bytes);
  BOOST_TEST(decode(env, "telemetry.reading", {}, "").evt.datacontenttype == "application/octet-stream");
}

BOOST_AUTO_TEST_CASE(json_mapping_reads_deltran_events) {
  const auto env = nc::envelope::json_mapping(deltran_fields());
  const auto out = decode(env, "events.transactions.created", {}, deltran_body);
  BOOST_TEST(!out.ec, out.detail);
  BOOST_TEST(out.evt.id == "6f1c2a34-0d5e-4b8e-9a61-3c0f1d2e4b5a");
  BOOST_TEST(out.evt.type == "transaction.created");
  BOOST_TEST(out.evt.source == "token-engine");
  BOOST_TEST(out.evt.schemaversion == "1.0");
  BOOST_TEST(out.evt.correlationid.value_or("") == "c-9");
  BOOST_TEST(out.evt.extensions.at("userid") == "u-3");
  BOOST_TEST(nc::format_rfc3339(out.evt.time) == "2025-11-06T12:00:00.123456Z");
  BOOST_TEST(out.evt.data.at("currency").as_string() == "USD");
}

BOOST_AUTO_TEST_CASE(json_mapping_names_what_is_missing_or_malformed) {
  const auto env = nc::envelope::json_mapping(deltran_fields());
  const auto no_id = decode(env, "events.x", {}, R"({"event_type":"a.b","data":{}})");
  BOOST_TEST(no_id.ec == nc::errc::invalid_event);
  BOOST_TEST(no_id.detail == "id is missing (/event_id)");
  const auto number_id = decode(env, "events.x", {}, R"({"event_id":7,"event_type":"a.b"})");
  BOOST_TEST(number_id.detail == "id (/event_id) is not a string");
  const auto bad_time = decode(env, "events.x", {}, R"({"event_id":"1","event_type":"a.b","timestamp":"yesterday"})");
  BOOST_TEST(bad_time.ec == nc::errc::invalid_event);
  BOOST_TEST(bad_time.detail.find("not RFC 3339") != std::string::npos, bad_time.detail);
  BOOST_TEST(decode(env, "events.x", {}, "[]").detail == "body is not a JSON object");
  // Optional attributes may be absent: the stream's name and time stand in.
  const auto minimal = decode(env, "events.x", {}, R"({"event_id":"1","event_type":"a.b"})");
  BOOST_TEST(!minimal.ec, minimal.detail);
  BOOST_TEST(minimal.evt.source == "AML_EVENTS");
  BOOST_TEST(minimal.evt.data.is_null());
}

BOOST_AUTO_TEST_CASE(json_mapping_refuses_bad_pointers_when_built) {
  auto fields = deltran_fields();
  fields.correlationid = "metadata/correlation_id";
  BOOST_CHECK_THROW(nc::envelope::json_mapping(fields), nc::error);
  fields = deltran_fields();
  fields.extensions["User-Id"] = "/metadata/user_id";
  BOOST_CHECK_THROW(nc::envelope::json_mapping(fields), nc::error);
  fields = deltran_fields();
  fields.type.clear();
  BOOST_CHECK_THROW(nc::envelope::json_mapping(fields), nc::error);
}

BOOST_AUTO_TEST_CASE(a_custom_envelope_cannot_hand_out_an_event_without_an_id) {
  const nc::envelope careless("careless", [](const nc::envelope_input&, nc::event& out, std::string&) {
    out.type = "a.b";
    out.source = "/x";
    return nc::error_code{};
  });
  const auto out = decode(careless, "a.b", {}, "{}");
  BOOST_TEST(out.ec == nc::errc::invalid_event);
  BOOST_TEST(out.detail == "attribute 'id' is missing");
  BOOST_TEST(careless.name() == "careless");
}

BOOST_AUTO_TEST_CASE(cloudevents_reads_both_modes) {
  const auto env = nc::envelope::cloudevents();
  const auto structured =
      decode(env, "x.y", {}, R"({"specversion":"1.0","id":"e1","source":"/s","type":"x.y","data":{"n":1}})");
  BOOST_TEST(!structured.ec, structured.detail);
  BOOST_TEST(structured.evt.id == "e1");
  const auto binary = decode(env, "x.y",
                             {{"ce-specversion", "1.0"},
                              {"ce-id", "e2"},
                              {"ce-source", "/s"},
                              {"ce-type", "x.y"},
                              {"Content-Type", "application/json"}},
                             R"({"n":2})");
  BOOST_TEST(!binary.ec, binary.detail);
  BOOST_TEST(binary.evt.data.at("n").as_int64() == 2);
  BOOST_TEST(decode(env, "x.y", {}, R"({"customer_id":7})").ec == nc::errc::invalid_event);
}

BOOST_AUTO_TEST_SUITE_END()
