#define BOOST_TEST_MODULE natscoro tls
#include <natscoro/natscoro.hpp>

#include "async_test.hpp"
#include "log_capture.hpp"
#include "nats_server.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>

namespace nc = natscoro;
namespace asio = boost::asio;
using namespace natscoro::test;

namespace {

// A CA, a server certificate it signs (for 127.0.0.1 and localhost), and an unrelated CA.
struct certificates {
  temp_dir dir;
  std::string path(const char* name) const { return (dir.path() / name).string(); }

  certificates() {
    const std::string d = dir.path().string();
    const std::string script =
        "set -e; cd '" + d +
        "';"
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=natscoro-test-ca;"
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost;"
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1' > san.cnf;"
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2"
        " -extfile san.cnf;"
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other-ca.pem -days 2 -subj /CN=untrusted;";
    const std::string command = "sh -c \"" + script + "\" >'" + d + "/openssl.log' 2>&1";
    BOOST_REQUIRE_MESSAGE(std::system(command.c_str()) == 0, "openssl failed; see " << d << "/openssl.log");
  }
};

struct tls_fixture {
  certificates certs;
  nats_server server{[this] {
    server_config cfg;
    cfg.extra =
        "tls { cert_file: \"" + certs.path("server.pem") + "\", key_file: \"" + certs.path("server.key") + "\" }";
    return cfg;
  }()};

  nc::connect_options options(const std::string& ca) const {
    nc::connect_options o;
    o.servers = {"tls://127.0.0.1:" + std::to_string(server.port())};
    o.tls.ca_file = ca;
    return o;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(connects_over_tls_with_the_signing_ca, tls_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto opts = options(certs.path("ca.pem"));
    auto conn = co_await nc::connect(ex, opts);
    BOOST_TEST(conn.is_connected());
    co_await conn.drain();
  });
}

BOOST_FIXTURE_TEST_CASE(an_untrusted_ca_fails_with_a_tls_error, tls_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto opts = options(certs.path("other-ca.pem"));
    auto [ec, conn] = co_await nc::connect(ex, opts, asio::as_tuple(asio::deferred));
    BOOST_TEST(ec == nc::nats_errc::ssl_error, ec.message());
    BOOST_TEST(ec.message().find("TLS") != std::string::npos);
  });
}

// Turning verification off works, and says loudly that it is off.
BOOST_FIXTURE_TEST_CASE(skipping_verification_connects_and_warns, tls_fixture) {
  log_capture captured;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto opts = options(certs.path("other-ca.pem"));  // would fail verification
    opts.tls.skip_verification = true;
    auto conn = co_await nc::connect(ex, opts);
    BOOST_TEST(conn.is_connected());
    co_await conn.drain();
  });
  BOOST_TEST(captured.text().find("[warning] TLS: the server's certificate is not verified") != std::string::npos,
             captured.text());
}
