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

BOOST_AUTO_TEST_SUITE_END()
