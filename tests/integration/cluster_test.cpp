#define BOOST_TEST_MODULE natscoro cluster
#include <natscoro/natscoro.hpp>

#include "async_test.hpp"
#include "nats_server.hpp"

#include <boost/test/unit_test.hpp>

#include <nats/nats.h>

namespace nc = natscoro;
namespace asio = boost::asio;
using namespace natscoro::test;

BOOST_FIXTURE_TEST_CASE(keeps_working_when_its_node_is_killed, cluster_fixture) {
  event_log log;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    nc::connect_options opts;
    opts.servers = cluster.urls();
    opts.reconnect.wait = std::chrono::milliseconds(100);
    opts.on_event = log.recorder();
    auto conn = co_await nc::connect(ex, opts);
    const std::string first = conn.info().connected_url;
    const int victim = cluster.index_of(first);
    BOOST_REQUIRE_MESSAGE(victim >= 0, "connected to an unknown node " << first);

    cluster.node(victim).kill();
    BOOST_REQUIRE(co_await wait_until([&] { return log.count(nc::connection_event_kind::reconnected) == 1; }));
    BOOST_TEST(conn.is_connected());
    const std::string second = conn.info().connected_url;
    BOOST_TEST(second != first);
    BOOST_TEST(cluster.index_of(second) >= 0);
    // The link works: a round trip to the new node.
    BOOST_TEST(natsConnection_FlushTimeout(conn.native_handle(), 5000) == NATS_OK);

    cluster.node(victim).start();
    cluster.wait_for_meta_leader();
    co_await conn.drain();
  });
}
