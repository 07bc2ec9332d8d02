// Names, subjects and log text: what may reach the wire, a log line or a terminal.
#include <natscoro/detail/log_text.hpp>
#include <natscoro/detail/names.hpp>
#include <natscoro/logging.hpp>

#include <boost/test/unit_test.hpp>

#include <spdlog/sinks/ostream_sink.h>

#include <sstream>
#include <string>

namespace nc = natscoro;
using namespace std::string_literals;

BOOST_AUTO_TEST_SUITE(names)

BOOST_AUTO_TEST_CASE(stream_and_consumer_names) {
  using nc::detail::valid_name;
  for (const char* good : {"AUTH_EVENTS", "a", "orders-v2", "日本"}) BOOST_TEST(valid_name(good), good);
  const std::string bad[] = {"",
                             "A.B",
                             "A*",
                             "A>",
                             "A B",
                             "A/B",
                             "A\\B",
                             "A\r\nB",
                             "A\tB",
                             "A\x1b[2J",
                             "A\x7f",
                             "A\0B"s,
                             std::string(256, 'x')};
  for (const auto& name : bad) BOOST_TEST(!valid_name(name), nc::detail::printable(name));
  BOOST_TEST(valid_name(std::string(255, 'x')));
}

BOOST_AUTO_TEST_CASE(publish_subjects) {
  using nc::detail::valid_publish_subject;
  for (const char* good : {"auth.user.created", "a", "$JS.API.STREAM.INFO.X", "a.b-c_d.é"})
    BOOST_TEST(valid_publish_subject(good), good);
  const std::string bad[] = {"",    ".a",   "a.",           "a..b",  "a b",  "a.*",
                             "a.>", "a\tb", "a\r\nPUB x 1", "a\x01", "a.b*", "a\0b"s};
  for (const auto& s : bad) BOOST_TEST(!valid_publish_subject(s), nc::detail::printable(s));
}

BOOST_AUTO_TEST_CASE(filter_subjects_take_wildcards_as_whole_tokens) {
  using nc::detail::valid_filter_subject;
  for (const char* good : {"auth.>", "auth.*.created", "*", ">", "a.b"}) BOOST_TEST(valid_filter_subject(good), good);
  for (const char* bad : {"auth.>.x", "auth.a*", "auth.>x", "", "a..b", "a b"})
    BOOST_TEST(!valid_filter_subject(bad), bad);
}

BOOST_AUTO_TEST_CASE(matching_and_overlap) {
  using nc::detail::subject_matches;
  BOOST_TEST(subject_matches("auth.user.created", "auth.>"));
  BOOST_TEST(subject_matches("auth.user.created", "auth.*.created"));
  BOOST_TEST(subject_matches("auth.user", "auth.user"));
  BOOST_TEST(!subject_matches("auth", "auth.>"));
  BOOST_TEST(!subject_matches("auth.user.created", "auth.*"));
  BOOST_TEST(!subject_matches("$JS.API.STREAM.DELETE.X", "auth.>"));
  BOOST_TEST(!subject_matches("auth.user", "auth.user.x"));
  BOOST_TEST(nc::detail::subjects_overlap("auth.>", "auth.user.*"));
  BOOST_TEST(!nc::detail::subjects_overlap("auth.*", "auth.user.created"));
}

BOOST_AUTO_TEST_CASE(reserved_subjects) {
  for (const char* s : {"$JS.API.STREAM.DELETE.X", "$SYS.REQ.SERVER.PING", "$KV.b.k", "_INBOX.abc"})
    BOOST_TEST(nc::detail::reserved_subject(s), s);
  for (const char* s : {"auth.user", "JS.API", "INBOX.x", "_INBOXES.x"})
    BOOST_TEST(!nc::detail::reserved_subject(s), s);
}

BOOST_AUTO_TEST_CASE(check_name_says_what_is_wrong) {
  std::string detail;
  BOOST_TEST(!nc::detail::check_name("stream name", "ORDERS", detail));
  BOOST_TEST(nc::detail::check_name("stream name", "A\r\nB", detail) == nc::errc::invalid_argument);
  BOOST_TEST(
      detail ==
      R"(stream name "A\x0d\x0aB" is not a valid name (no '.', '*', '>', '/', '\', spaces or control characters))");
  BOOST_TEST(nc::detail::check_name("consumer name", "", detail) == nc::errc::invalid_argument);
  BOOST_TEST(detail == R"(consumer name "" is not a valid name (empty))");
}

BOOST_AUTO_TEST_CASE(check_filter_subject_says_what_is_wrong) {
  std::string detail;
  BOOST_TEST(!nc::detail::check_filter_subject("filter", "auth.*.created", detail));
  BOOST_TEST(nc::detail::check_filter_subject("filter", "auth.\r\nPUB x 1", detail) == nc::errc::invalid_subject);
  BOOST_TEST(detail.find(R"(filter "auth.\x0d\x0aPUB x 1" is not a subject)") == 0u, detail);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(log_text)

BOOST_AUTO_TEST_CASE(control_characters_are_escaped) {
  using nc::detail::printable;
  BOOST_TEST(printable("plain text, é") == "plain text, é");
  BOOST_TEST(printable("line\r\n2023-01-01 [error] forged") == R"(line\x0d\x0a2023-01-01 [error] forged)");
  BOOST_TEST(printable("\x1b]0;owned\x07\x1b[2J") == R"(\x1b]0;owned\x07\x1b[2J)");
  BOOST_TEST(printable(printable("a\nb")) == printable("a\nb"));
  BOOST_TEST(printable("csi \xc2\x9b"
                       "31m") == R"(csi \u009b31m)");
  BOOST_TEST(printable("\x7f\0"s) == R"(\x7f\x00)");
  BOOST_TEST(printable(std::string(300, 'x'), 10) == "xxxxxxxxxx...(300 bytes)");
}

BOOST_AUTO_TEST_CASE(credentials_in_urls_are_redacted) {
  using nc::detail::redact_credentials;
  BOOST_TEST(redact_credentials("nats://alice:s3cret@10.0.0.1:4222") == "nats://alice:***@10.0.0.1:4222");
  BOOST_TEST(redact_credentials("tls://t0k3n@host:4222/") == "tls://***@host:4222/");
  BOOST_TEST(redact_credentials("connect to nats://a:b@h1:1, nats://c:d@h2:2 failed") ==
             "connect to nats://a:***@h1:1, nats://c:***@h2:2 failed");
  BOOST_TEST(redact_credentials("nats://u:p@ss@host") == "nats://u:***@host");  // '@' in the password
  BOOST_TEST(redact_credentials("nats://host:4222 and mail me@example.com") ==
             "nats://host:4222 and mail me@example.com");
  BOOST_TEST(redact_credentials("no url") == "no url");
}

BOOST_AUTO_TEST_CASE(the_logger_writes_safe_lines) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto mine = std::make_shared<spdlog::logger>("test", sink);
  mine->set_pattern("%l %v");
  mine->set_level(spdlog::level::trace);
  nc::set_logger(mine);
  nc::logger()->set_level(spdlog::level::info);
  nc::logger()->error("message body: {}", "x\n2026-12-01 [info] forged line\x1b[31m");
  nc::logger()->warn("connected to {}", "nats://alice:s3cret@h:4222");
  nc::logger()->debug("below the level: {}", "not written");
  nc::set_logger(nullptr);
  BOOST_TEST(out.str() ==
             "error message body: x\\x0a2026-12-01 [info] forged line\\x1b[31m\n"
             "warning connected to nats://alice:***@h:4222\n");
}

BOOST_AUTO_TEST_SUITE_END()
