// connect_options -> natsOptions: what is refused before any network I/O.
#include <natscoro/detail/native_options.hpp>

#include <boost/test/unit_test.hpp>

namespace nc = natscoro;
using nc::detail::make_native_options;

namespace {
nc::detail::native_options_result build(const nc::connect_options& o) { return make_native_options(o, {}); }

void check_refused(const nc::connect_options& o, const std::string& named) {
  auto r = build(o);
  BOOST_TEST(r.error == nc::errc::invalid_argument);
  BOOST_TEST(r.options == nullptr);
  BOOST_TEST(r.detail.find(named) != std::string::npos, r.detail << " should name " << named);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(native_options)

BOOST_AUTO_TEST_CASE(defaults_are_accepted) {
  auto r = build(nc::connect_options{});
  BOOST_TEST(!r.error);
  BOOST_TEST(r.options != nullptr);
}

BOOST_AUTO_TEST_CASE(bad_options_are_refused_naming_the_option) {
  nc::connect_options o;
  o.servers.clear();
  check_refused(o, "servers");

  o = {};
  o.servers = {"nats://127.0.0.1:4222", ""};
  check_refused(o, "empty URL");

  o = {};
  o.connect_timeout = std::chrono::milliseconds(0);
  check_refused(o, "connect_timeout");

  o = {};
  o.write_deadline = std::chrono::milliseconds(-1);
  check_refused(o, "write_deadline");

  o = {};
  o.tls.cert_file = "client.pem";
  check_refused(o, "key_file");

  o = {};
  o.nkey_seed_file = "user.nk";
  check_refused(o, "nkey_public");
}

BOOST_AUTO_TEST_CASE(an_unreadable_ca_file_is_refused_by_name) {
  nc::connect_options o;
  o.tls.enabled = true;
  o.tls.ca_file = "/nonexistent/ca.pem";
  auto r = build(o);
  BOOST_TEST(static_cast<bool>(r.error));
  BOOST_TEST(r.detail.find("tls.ca_file") != std::string::npos, r.detail);
}

BOOST_AUTO_TEST_CASE(server_urls_are_checked_and_the_problem_named) {
  using nc::detail::check_server_url;
  for (const char* good : {"nats://127.0.0.1:4222", "127.0.0.1:4222", "localhost", "tls://nats.example.com:4443",
                           "nats://alice:s3cret@host:4222", "nats://[::1]:4222", "[::1]", "nats://token@host"})
    BOOST_TEST(check_server_url(good).empty(), good << ": " << check_server_url(good));
  const std::pair<const char*, const char*> bad[] = {
      {"foo://bar", "the scheme \"foo\" is not nats:// or tls://"},
      {"not a url", "has a space or a control character"},
      {"nats://:4222", "has no host"},
      {"nats://host:", "ends in ':' without a port"},
      {"nats://host:0", "the port 0 is not 1 to 65535"},
      {"nats://host:65536", "the port 65536 is not 1 to 65535"},
      {"nats://host:99999999999999", "is not 1 to 65535"},
      {"nats://host:42x", "is not 1 to 65535"},
      {"nats://host:4222/path", "has a path"},
      {"nats://[::1", "'[' without ']'"},
  };
  for (const auto& [url, problem] : bad)
    BOOST_TEST(check_server_url(url).find(problem) != std::string::npos, url << ": " << check_server_url(url));
  // The problem quotes the URL without its password.
  const auto text = check_server_url("nats://alice:s3cret@:4222");
  BOOST_TEST(text.find("s3cret") == std::string::npos, text);
  BOOST_TEST(text.find("has no host") != std::string::npos, text);

  nc::connect_options o;
  o.servers = {"nats://127.0.0.1:4222", "foo://bar"};
  const auto r = build(o);
  BOOST_TEST(r.error == nc::errc::invalid_url);
  BOOST_TEST(r.detail.find("foo://bar") != std::string::npos, r.detail);
}

BOOST_AUTO_TEST_SUITE_END()
