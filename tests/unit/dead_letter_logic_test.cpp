// Reading stored messages and DLQ entries, and what a replay may do: no server.
#include <natscoro/detail/dead_letter_format.hpp>
#include <natscoro/detail/nats_message.hpp>
#include <natscoro/detail/stored_message.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

namespace nc = natscoro;
namespace json = boost::json;
using nc::header_list;

BOOST_AUTO_TEST_SUITE(stored_messages)

BOOST_AUTO_TEST_CASE(base64_is_strict) {
  std::string out;
  BOOST_TEST(nc::detail::decode_base64("aGVsbG8=", out));
  BOOST_TEST(out == "hello");
  BOOST_TEST(nc::detail::decode_base64("", out));
  BOOST_TEST(out.empty());
  for (const char* bad : {"aGVsbG8", "aGVs bG8=", "aGVsbG8===", "a===", "aGVs*G8=", "=aGV"})
    BOOST_TEST(!nc::detail::decode_base64(bad, out), bad);
}

BOOST_AUTO_TEST_CASE(header_blocks) {
  header_list h;
  std::string why;
  BOOST_TEST(nc::detail::parse_headers("NATS/1.0\r\nA: 1\r\nB:two words\r\nA: 3\r\n\r\n", h, why));
  BOOST_TEST((h == header_list{{"A", "1"}, {"B", "two words"}, {"A", "3"}}));
  BOOST_TEST(nc::detail::parse_headers("", h, why));
  BOOST_TEST(h.empty());
  for (const char* bad : {"HTTP/1.1\r\n\r\n", "NATS/1.0", "NATS/1.0\r\nA: 1", "NATS/1.0\r\nno colon\r\n\r\n",
                          "NATS/1.0\r\n: empty name\r\n\r\n", "NATS/1.0\r\nA: 1\r\n"}) {
    BOOST_TEST(!nc::detail::parse_headers(bad, h, why), bad);
    BOOST_TEST(!why.empty());
  }
}

BOOST_AUTO_TEST_CASE(a_msg_get_reply_reads_back) {
  const auto reply = json::parse(R"({"type":"io.nats.jetstream.api.v1.stream_msg_get_response",
      "message":{"subject":"dlq.orders.created","seq":42,
                 "hdrs":"TkFUUy8xLjANCk5hdHNjb3JvLUVycm9yOiBib29tDQoNCg==","data":"e30=","time":"2026-12-01T00:00:00Z"}})");
  nc::detail::stored_message m;
  std::string why;
  BOOST_REQUIRE(!nc::detail::parse_stored_message(reply, m, why));
  BOOST_TEST(m.subject == "dlq.orders.created");
  BOOST_TEST(m.sequence == 42u);
  BOOST_TEST(m.data == "{}");
  BOOST_TEST((m.headers == header_list{{"Natscoro-Error", "boom"}}));
  for (const char* bad :
       {R"({})", R"({"message":1})", R"({"message":{"seq":1}})", R"({"message":{"subject":"a"}})",
        R"({"message":{"subject":"a","seq":-1}})", R"({"message":{"subject":"a","seq":1,"data":"%%"}})",
        R"({"message":{"subject":"a","seq":1,"hdrs":"aGVsbG8="}})"}) {
    BOOST_TEST(nc::detail::parse_stored_message(json::parse(bad), m, why) == nc::errc::invalid_event, bad);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dead_letter_entries)

namespace {

nc::dead_letter_entry entry(const std::string& stream, const std::string& subject) {
  nc::detail::stored_message m;
  m.sequence = 7;
  m.subject = "dlq." + subject;
  m.headers = {{"Natscoro-Original-Stream", stream},
               {"Natscoro-Original-Subject", subject},
               {"Natscoro-Original-Sequence", "12"},
               {"Natscoro-Deliveries", "x3"},
               {"Nats-Rollup", "all"},
               {"X-Trace", "t"}};
  m.data = "{}";
  return nc::detail::read_dead_letter_entry(std::move(m));
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_entry_reads_its_headers) {
  const auto e = entry("ORDERS", "orders.created");
  BOOST_TEST(e.sequence == 7u);
  BOOST_TEST(e.original_stream == "ORDERS");
  BOOST_TEST(e.original_subject == "orders.created");
  BOOST_TEST(e.original_sequence == 12u);
  BOOST_TEST(e.deliveries == 0u);  // not a number
  BOOST_TEST(e.headers.size() == 6u);
}

BOOST_AUTO_TEST_CASE(a_replay_goes_only_to_a_subject_its_stream_covers) {
  const std::vector<std::string> orders = {"orders.>", "billing.*"};
  std::string why;
  BOOST_TEST(!nc::detail::check_replay_target(entry("ORDERS", "orders.created"), orders, why));
  BOOST_TEST(!nc::detail::check_replay_target(entry("ORDERS", "billing.paid"), orders, why));
  for (const char* refused : {"$JS.API.STREAM.DELETE.OTHER", "$SYS.REQ.SERVER.PING", "_INBOX.x", "other.x",
                              "billing.paid.late", "orders.*", "orders..x", "orders.a b", "", "orders.a\r\nPUB x 1"}) {
    BOOST_TEST(nc::detail::check_replay_target(entry("ORDERS", refused), orders, why) == nc::errc::replay_refused,
               refused);
    BOOST_TEST(why.find("not replayed") != std::string::npos);
    BOOST_TEST(why.find('\n') == std::string::npos);
  }
  // A '$' subject is refused even when the stream's own subjects would match it.
  BOOST_TEST(nc::detail::check_replay_target(entry("ORDERS", "$JS.API.INFO"), {">"}, why) == nc::errc::replay_refused);
}

BOOST_AUTO_TEST_CASE(a_replayed_message_carries_no_nats_control_headers) {
  const auto out = nc::detail::replay_message(entry("ORDERS", "orders.created"), "DLQ");
  BOOST_TEST(out.subject == "orders.created");
  BOOST_TEST(!out.id.empty());
  const header_list expected = {{"X-Trace", "t"},
                                {"Nats-Expected-Stream", "ORDERS"},
                                {"Natscoro-Replay-Id", out.id},
                                {"Natscoro-Replayed-From", "DLQ:7"}};
  BOOST_TEST((out.headers == expected));
}

BOOST_AUTO_TEST_CASE(a_failure_too_large_is_cut_to_fit) {
  nc::raw_message m;
  m.subject = "dlq.x";
  m.headers = {{"Natscoro-Error", "boom"}};
  m.data = std::string(10'000, 'x');
  const auto cut = nc::detail::truncated_dead_letter(m, 2000);
  BOOST_REQUIRE(cut.has_value());
  BOOST_TEST(nc::detail::wire_payload_size(cut->headers, cut->data) + 128 == 2000u);
  BOOST_TEST((cut->headers.back() == std::pair<std::string, std::string>{"Natscoro-Truncated", "10000"}));
  const auto again = nc::detail::truncated_dead_letter(*cut, 0);  // no body; the first size stays
  BOOST_REQUIRE(again.has_value());
  BOOST_TEST(again->data.empty());
  BOOST_TEST(again->headers.size() == 2u);
  BOOST_TEST(again->headers.back().second == "10000");
  BOOST_TEST(!nc::detail::truncated_dead_letter(m, 100).has_value());  // not even the headers fit
}

BOOST_AUTO_TEST_SUITE_END()
