#define BOOST_TEST_MODULE natscoro completion tokens
// Every asynchronous operation through every kind of completion token
// (support/completion_tokens.hpp): a callback bound to a strand, deferred,
// use_awaitable, with_diagnostics, the default token and use_future.
#include <natscoro/natscoro.hpp>

#include "async_test.hpp"
#include "completion_tokens.hpp"
#include "nats_server.hpp"
#include "test_options.hpp"

#include <boost/asio/detached.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <memory>

namespace nc = natscoro;
namespace asio = boost::asio;
using namespace natscoro::test;
using namespace std::chrono_literals;
using nc::error_code;

namespace {

nc::stream_config orders_stream(std::string name = "ORDERS") {
  nc::stream_config s;
  s.subjects = {(name == "ORDERS" ? std::string("orders") : name) + ".>"};
  s.name = std::move(name);
  return s;
}

nc::consumer_config durable(std::string name) {
  nc::consumer_config c;
  c.durable = std::move(name);
  return c;
}

nc::publisher_options publisher_options() {
  nc::publisher_options p;
  p.source = "orders-service";
  return p;
}

nc::event order() { return nc::event::make("order.created", "org-1", boost::json::object{{"total", 42}}); }

// A subject that is the same object every time: the operation under test does not use it up.
template <class T>
auto same(T value) {
  return [value]() -> asio::awaitable<T> { co_return value; };
}

auto expect_ok = [](error_code ec, auto&&...) { BOOST_TEST(!ec, ec.message()); };

}  // namespace

BOOST_FIXTURE_TEST_CASE(connection_operations, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    const auto opts = options_for(server);
    co_await check_completion_tokens<void(error_code, nc::connection)>(
        "connect", same(0), [&](int, auto token) { return nc::connect(ex, opts, std::move(token)); },
        [](error_code ec, nc::connection c) {
          BOOST_TEST(!ec);
          BOOST_TEST(c.is_connected());
        });
    nc::connect_options bad;
    bad.servers = {"foo://bar"};
    co_await check_completion_tokens<void(error_code, nc::connection)>(
        "connect to a bad URL", same(0), [&](int, auto token) { return nc::connect(ex, bad, std::move(token)); },
        [](error_code ec, nc::connection c) {
          BOOST_TEST(ec == nc::errc::invalid_url);
          BOOST_TEST(!c);
        },
        true);
    co_await check_completion_tokens<void(error_code)>(
        "connection::drain", [&]() -> asio::awaitable<nc::connection> { co_return co_await nc::connect(ex, opts); },
        [](nc::connection& c, auto token) { return c.drain(std::move(token)); }, expect_ok);
  });
}

BOOST_FIXTURE_TEST_CASE(publisher_operations, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await js.ensure_stream(orders_stream());
    auto pub = std::make_shared<nc::publisher>(js, publisher_options());
    auto p = same(pub);

    co_await check_completion_tokens<void(error_code, nc::pub_ack)>(
        "publish", p, [](auto& pub, auto token) { return pub->publish("orders.created", order(), std::move(token)); },
        [](error_code ec, nc::pub_ack ack) {
          BOOST_TEST(!ec);
          BOOST_TEST(ack.sequence > 0u);
        });
    co_await check_completion_tokens<void(error_code, nc::pub_ack)>(
        "publish of an invalid event", p,
        [](auto& pub, auto token) {
          auto e = order();
          e.type.clear();
          return pub->publish("orders.created", std::move(e), std::move(token));
        },
        [](error_code ec, nc::pub_ack) { BOOST_TEST(ec == nc::errc::invalid_event); }, true);
    co_await check_completion_tokens<void(error_code, nc::pub_ack)>(
        "publish_raw", p,
        [](auto& pub, auto token) {
          return pub->publish_raw(nc::raw_message{.subject = "orders.raw", .data = "{}"}, std::move(token));
        },
        [](error_code ec, nc::pub_ack ack) {
          BOOST_TEST(!ec);
          BOOST_TEST(ack.stream == "ORDERS");
        });
    co_await check_completion_tokens<void(error_code, nc::pub_ack)>(
        "publish_raw to an invalid subject", p,
        [](auto& pub, auto token) {
          return pub->publish_raw(nc::raw_message{.subject = "orders.*"}, std::move(token));
        },
        [](error_code ec, nc::pub_ack) { BOOST_TEST(ec == nc::errc::invalid_subject); }, true);
    co_await check_completion_tokens<void(error_code)>(
        "wait_for_room", p, [](auto& pub, auto token) { return pub->wait_for_room(std::move(token)); }, expect_ok);
    co_await check_completion_tokens<void(error_code)>(
        "flush", p,
        [](auto& pub, auto token) {
          pub->publish("orders.created", order(), asio::detached);
          return pub->flush(std::move(token));
        },
        expect_ok);
    co_await conn.drain();
  });
}

BOOST_FIXTURE_TEST_CASE(jetstream_operations, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await js.ensure_stream(orders_stream());
    co_await js.ensure_consumer("ORDERS", durable("kept"));
    auto j = same(js);
    int made = 0;  // a fresh stream or consumer per token, for what deletes
    auto fresh_stream = [&]() -> asio::awaitable<std::string> {
      const std::string name = "TMP" + std::to_string(++made);
      co_await js.ensure_stream(orders_stream(name));
      co_return name;
    };
    auto fresh_consumer = [&]() -> asio::awaitable<std::string> {
      const std::string name = "tmp" + std::to_string(++made);
      co_await js.ensure_consumer("ORDERS", durable(name));
      co_return name;
    };

    co_await check_completion_tokens<void(error_code, nc::ensure_result)>(
        "ensure_stream", j, [](auto& js, auto token) { return js.ensure_stream(orders_stream(), std::move(token)); },
        [](error_code ec, nc::ensure_result r) {
          BOOST_TEST(!ec);
          BOOST_TEST((r == nc::ensure_result::unchanged));
        });
    co_await check_completion_tokens<void(error_code, nc::ensure_result)>(
        "ensure_stream with an unchangeable difference", j,
        [](auto& js, auto token) {
          auto cfg = orders_stream();
          cfg.storage = nc::storage_type::memory;
          return js.ensure_stream(cfg, std::move(token));
        },
        [](error_code ec, nc::ensure_result) { BOOST_TEST(ec == nc::errc::config_mismatch); }, true);
    co_await check_completion_tokens<void(error_code, nc::consumer)>(
        "consumer", j, [](auto& js, auto token) { return js.consumer("ORDERS", durable("kept"), std::move(token)); },
        [](error_code ec, nc::consumer c) {
          BOOST_TEST(!ec);
          BOOST_TEST(c.name() == "kept");
        });
    co_await check_completion_tokens<void(error_code, nc::consumer)>(
        "consumer of a missing stream", j,
        [](auto& js, auto token) { return js.consumer("MISSING", durable("kept"), std::move(token)); },
        [](error_code ec, nc::consumer) { BOOST_TEST(ec == nc::jetstream_errc::stream_not_found); }, true);
    co_await check_completion_tokens<void(error_code, nc::consumer)>(
        "ephemeral_consumer", j,
        [](auto& js, auto token) {
          nc::consumer_config cfg;
          cfg.inactive_threshold = 10s;
          return js.ephemeral_consumer("ORDERS", cfg, nc::consumer_options{}, std::move(token));
        },
        [](error_code ec, nc::consumer c) {
          BOOST_TEST(!ec);
          BOOST_TEST(!c.name().empty());
        });
    co_await check_completion_tokens<void(error_code, nc::stream_info)>(
        "stream_info", j, [](auto& js, auto token) { return js.stream_info("ORDERS", std::move(token)); },
        [](error_code ec, nc::stream_info info) {
          BOOST_TEST(!ec);
          BOOST_TEST(info.config.name == "ORDERS");
        });
    co_await check_completion_tokens<void(error_code, nc::stream_info)>(
        "stream_info of a missing stream", j,
        [](auto& js, auto token) { return js.stream_info("MISSING", std::move(token)); },
        [](error_code ec, nc::stream_info) { BOOST_TEST(ec == nc::jetstream_errc::stream_not_found); }, true);
    co_await check_completion_tokens<void(error_code)>(
        "delete_stream", fresh_stream,
        [&](const std::string& name, auto token) { return js.delete_stream(name, std::move(token)); }, expect_ok);
    co_await check_completion_tokens<void(error_code, std::uint64_t)>(
        "purge_stream", j, [](auto& js, auto token) { return js.purge_stream("ORDERS", {}, std::move(token)); },
        expect_ok);
    co_await check_completion_tokens<void(error_code, std::vector<std::string>)>(
        "list_streams", j, [](auto& js, auto token) { return js.list_streams(std::move(token)); },
        [](error_code ec, std::vector<std::string> names) {
          BOOST_TEST(!ec);
          BOOST_TEST((std::find(names.begin(), names.end(), "ORDERS") != names.end()));
        });
    co_await check_completion_tokens<void(error_code, nc::ensure_result)>(
        "ensure_consumer", j,
        [](auto& js, auto token) { return js.ensure_consumer("ORDERS", durable("kept"), std::move(token)); },
        [](error_code ec, nc::ensure_result r) {
          BOOST_TEST(!ec);
          BOOST_TEST((r == nc::ensure_result::unchanged));
        });
    co_await check_completion_tokens<void(error_code, nc::consumer_info)>(
        "consumer_info", j, [](auto& js, auto token) { return js.consumer_info("ORDERS", "kept", std::move(token)); },
        expect_ok);
    co_await check_completion_tokens<void(error_code, nc::consumer_info)>(
        "consumer_info of a missing consumer", j,
        [](auto& js, auto token) { return js.consumer_info("ORDERS", "missing", std::move(token)); },
        [](error_code ec, nc::consumer_info) { BOOST_TEST(ec == nc::jetstream_errc::consumer_not_found); }, true);
    co_await check_completion_tokens<void(error_code)>(
        "delete_consumer", fresh_consumer,
        [&](const std::string& name, auto token) { return js.delete_consumer("ORDERS", name, std::move(token)); },
        expect_ok);
    co_await check_completion_tokens<void(error_code, std::vector<std::string>)>(
        "list_consumers", j, [](auto& js, auto token) { return js.list_consumers("ORDERS", std::move(token)); },
        expect_ok);
    nc::topology t;
    t.streams.push_back(orders_stream());
    co_await check_completion_tokens<void(error_code, std::vector<nc::topology_change>)>(
        "apply_topology", j, [&](auto& js, auto token) { return nc::apply_topology(js, t, true, std::move(token)); },
        expect_ok);
    co_await conn.drain();
  });
}

BOOST_FIXTURE_TEST_CASE(consumer_and_message_operations, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await js.ensure_stream(orders_stream());
    {
      nc::publisher pub{js, publisher_options()};
      for (int i = 0; i < 100; ++i) pub.publish("orders.created", order(), asio::detached);
      co_await pub.flush();
    }
    auto reader = co_await js.consumer("ORDERS", durable("reader"));
    int made = 0;
    auto fresh_consumer = [&]() -> asio::awaitable<nc::consumer> {
      co_return co_await js.consumer("ORDERS", durable("c" + std::to_string(++made)));
    };
    auto next_message = [&]() -> asio::awaitable<nc::message> { co_return *co_await reader.next(); };

    co_await check_completion_tokens<void(error_code, std::optional<nc::message>)>(
        "next", same(reader), [](auto& c, auto token) { return c.next(std::move(token)); },
        [](error_code ec, std::optional<nc::message> m) {
          BOOST_TEST(!ec);
          BOOST_TEST_REQUIRE(m.has_value());
          m->ack();
        });
    co_await check_completion_tokens<void(error_code, std::vector<nc::message>)>(
        "next_batch", same(reader), [](auto& c, auto token) { return c.next_batch(10, std::move(token)); },
        [](error_code ec, std::vector<nc::message> batch) {
          BOOST_TEST(!ec);
          BOOST_TEST(!batch.empty());
          BOOST_TEST(batch.size() <= 10u);
          for (auto& m : batch) m.ack();
        });
    co_await check_completion_tokens<void(error_code, std::vector<nc::message>)>(
        "next_batch of 0", same(reader), [](auto& c, auto token) { return c.next_batch(0, std::move(token)); },
        [](error_code ec, std::vector<nc::message> batch) {
          BOOST_TEST(ec == nc::errc::invalid_argument);
          BOOST_TEST(batch.empty());
        },
        true);
    co_await check_completion_tokens<void(error_code)>(
        "ack_sync", next_message, [](nc::message& m, auto token) { return m.ack_sync(std::move(token)); }, expect_ok);
    co_await check_completion_tokens<void(error_code)>(
        "consumer::drain", fresh_consumer, [](nc::consumer& c, auto token) { return c.drain(1s, std::move(token)); },
        expect_ok);
    co_await check_completion_tokens<void(error_code)>(
        "run", fresh_consumer,
        [](nc::consumer& c, auto token) {
          // The first message drains the consumer: run() then completes.
          return c.run(
              [c](nc::message&) mutable -> asio::awaitable<void> {
                c.drain(5s, asio::detached);
                co_return;
              },
              nc::run_options{}, std::move(token));
        },
        expect_ok);
    co_await check_completion_tokens<void(error_code)>(
        "run with no concurrency", fresh_consumer,
        [](nc::consumer& c, auto token) {
          nc::run_options o;
          o.concurrency = 0;
          return c.run([](nc::message&) -> asio::awaitable<void> { co_return; }, o, std::move(token));
        },
        [](error_code ec) { BOOST_TEST(ec == nc::errc::invalid_argument); }, true);
    co_await conn.drain();
  });
}

BOOST_FIXTURE_TEST_CASE(dead_letter_replay_and_outbox_operations, server_fixture) {
  temp_dir dir;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await js.ensure_stream(orders_stream());
    {
      nc::publisher pub{js, publisher_options()};
      for (int i = 0; i < 3; ++i) co_await pub.publish("orders.created", order());
    }
    co_await js.ensure_stream(orders_stream("DLQ"));
    nc::dead_letter_queue dlq{js, "DLQ"};
    auto d = same(dlq);
    co_await check_completion_tokens<void(error_code, std::vector<nc::dead_letter_entry>)>(
        "dead_letter_queue::list", d, [](auto& q, auto token) { return q.list(1, 10, std::move(token)); },
        [](error_code ec, std::vector<nc::dead_letter_entry> entries) {
          BOOST_TEST(!ec);
          BOOST_TEST(entries.empty());
        });
    co_await check_completion_tokens<void(error_code, nc::pub_ack)>(
        "dead_letter_queue::replay of a missing entry", d,
        [](auto& q, auto token) { return q.replay(7, std::move(token)); },
        [](error_code ec, nc::pub_ack) { BOOST_TEST(ec == nc::jetstream_errc::no_message_found); }, true);
    co_await check_completion_tokens<void(error_code, std::size_t)>(
        "dead_letter_queue::replay_all", d, [](auto& q, auto token) { return q.replay_all(std::move(token)); },
        [](error_code ec, std::size_t n) {
          BOOST_TEST(!ec);
          BOOST_TEST(n == 0u);
        });

    auto j = same(js);
    co_await check_completion_tokens<void(error_code, nc::replay)>(
        "replay::open", j,
        [](auto& js, auto token) { return nc::replay::open(js, "ORDERS", nc::replay_range{}, {}, std::move(token)); },
        expect_ok);
    co_await check_completion_tokens<void(error_code, nc::replay)>(
        "replay::open of a missing stream", j,
        [](auto& js, auto token) { return nc::replay::open(js, "MISSING", nc::replay_range{}, {}, std::move(token)); },
        [](error_code ec, nc::replay) { BOOST_TEST(ec == nc::jetstream_errc::stream_not_found); }, true);
    auto open_replay = [&]() -> asio::awaitable<nc::replay> {
      co_return co_await nc::replay::open(js, "ORDERS", nc::replay_range{});
    };
    co_await check_completion_tokens<void(error_code, std::optional<nc::message>)>(
        "replay::next", open_replay, [](nc::replay& r, auto token) { return r.next(std::move(token)); },
        [](error_code ec, std::optional<nc::message> m) {
          BOOST_TEST(!ec);
          BOOST_TEST(m.has_value());
        });
    co_await check_completion_tokens<void(error_code)>(
        "replay::close", open_replay, [](nc::replay& r, auto token) { return r.close(std::move(token)); }, expect_ok);

    int opened = 0;
    auto outbox_options = [&] {
      nc::outbox_options o;
      o.path = (dir.path() / ("outbox-" + std::to_string(++opened) + ".db")).string();
      o.publish = publisher_options();
      return o;
    };
    co_await check_completion_tokens<void(error_code, nc::outbox)>(
        "outbox::open", j,
        [&](auto& js, auto token) { return nc::outbox::open(js, outbox_options(), std::move(token)); }, expect_ok);
    auto open_outbox = [&]() -> asio::awaitable<nc::outbox> {
      co_return co_await nc::outbox::open(js, outbox_options());
    };
    co_await check_completion_tokens<void(error_code)>(
        "outbox::publish", open_outbox,
        [](nc::outbox& o, auto token) { return o.publish("orders.created", order(), std::move(token)); }, expect_ok);
    co_await check_completion_tokens<void(error_code)>(
        "outbox::close", open_outbox, [](nc::outbox& o, auto token) { return o.close(std::move(token)); }, expect_ok);
    co_await conn.drain();
  });
}
