#define BOOST_TEST_MODULE natscoro replay
#include <natscoro/natscoro.hpp>

#include "async_test.hpp"
#include "nats_server.hpp"
#include "stream_inspector.hpp"
#include "test_options.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

namespace nc = natscoro;
namespace asio = boost::asio;
using namespace natscoro::test;
using namespace std::chrono_literals;

namespace {

// LEDGER holds 100 plain JSON messages "ledger.<account>.posted", account n % 4, {"n": n}, stored by plain nats.c.
void fill_ledger(const nats_server& server, int count = 100) {
  stream_inspector raw(server.url());
  for (int n = 1; n <= count; ++n)
    raw.publish("ledger." + std::to_string(n % 4) + ".posted", boost::json::serialize(boost::json::object{{"n", n}}));
}

asio::awaitable<void> create_ledger(nc::jetstream js) {
  nc::stream_config s;
  s.name = "LEDGER";
  s.subjects = {"ledger.>"};
  co_await js.ensure_stream(s);
}

nc::replay_options plain() {
  nc::replay_options o;
  o.envelope = nc::envelope::plain_json({.type_skip_tokens = 2});
  return o;
}

// Reads a replay to its end: the stream sequences it handed out.
asio::awaitable<std::vector<std::uint64_t>> read_all(nc::replay r) {
  std::vector<std::uint64_t> out;
  while (auto m = co_await r.next()) {
    BOOST_REQUIRE(m->event().type == "posted");
    out.push_back(m->metadata().stream_sequence);
  }
  co_return out;
}

std::vector<std::uint64_t> sequences(std::uint64_t first, std::uint64_t last, std::uint64_t step = 1) {
  std::vector<std::uint64_t> out;
  for (auto s = first; s <= last; s += step) out.push_back(s);
  return out;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(a_sequence_range_is_replayed_exactly_and_leaves_no_consumer, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await create_ledger(js);
    fill_ledger(server);

    nc::replay r =
        co_await nc::replay::open(js, "LEDGER", {.from = std::uint64_t{10}, .to = std::uint64_t{20}}, plain());
    BOOST_TEST(r.stats().end_sequence == 20u);
    const auto got = co_await read_all(r);
    BOOST_TEST(got == sequences(10, 20), boost::test_tools::per_element());
    BOOST_TEST(r.stats().delivered == 11u);
    BOOST_TEST((co_await js.list_consumers("LEDGER")).empty());
    // After the end, next() keeps saying so.
    BOOST_TEST(!(co_await r.next()).has_value());

    // A filter: account 1's messages from 50 on, to the end of the stream.
    auto account1 = co_await nc::replay::open(
        js, "LEDGER", {.from = std::uint64_t{50}, .filter_subject = "ledger.1.posted"}, plain());
    BOOST_TEST(co_await read_all(account1) == sequences(53, 97, 4), boost::test_tools::per_element());
    BOOST_TEST((co_await js.list_consumers("LEDGER")).empty());
    conn.close();
  });
}

BOOST_FIXTURE_TEST_CASE(a_time_range_is_replayed_by_the_stream_timestamps, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await create_ledger(js);
    fill_ledger(server, 30);
    // The stored times of messages 11 and 20 bound the range (stored by the server, not by this clock).
    stream_inspector raw(server.url());
    auto time_of = [&](std::uint64_t seq) -> asio::awaitable<std::chrono::system_clock::time_point> {
      auto one = co_await nc::replay::open(js, "LEDGER", {.from = seq, .to = seq}, plain());
      auto m = co_await one.next();
      BOOST_REQUIRE(m.has_value());
      co_return m->metadata().timestamp;
    };
    const auto from = co_await time_of(11), to = co_await time_of(20);
    BOOST_REQUIRE(from < to);
    auto r = co_await nc::replay::open(js, "LEDGER", {.from = from, .to = to}, plain());
    const auto got = co_await read_all(r);
    // Several messages may share a stored time; the range holds those of 11 and 20 and everything between.
    BOOST_REQUIRE(!got.empty());
    BOOST_TEST(got.front() <= 11u);
    BOOST_TEST(got.back() >= 20u);
    for (std::size_t i = 1; i < got.size(); ++i) BOOST_TEST(got[i] == got[i - 1] + 1);
    BOOST_TEST((co_await js.list_consumers("LEDGER")).empty());
    conn.close();
  });
}

BOOST_FIXTURE_TEST_CASE(empty_and_invalid_ranges, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await create_ledger(js);
    fill_ledger(server, 10);
    // Past the end: ends at once, creates nothing.
    auto beyond = co_await nc::replay::open(js, "LEDGER", {.from = std::uint64_t{11}}, plain());
    BOOST_TEST(!(co_await beyond.next()).has_value());
    // A filter nothing matches: the server says nothing is pending.
    auto none = co_await nc::replay::open(js, "LEDGER", {.filter_subject = "ledger.9.posted"}, plain());
    BOOST_TEST(!(co_await none.next()).has_value());
    BOOST_TEST((co_await js.list_consumers("LEDGER")).empty());

    auto [backwards, r1] = co_await nc::replay::open(js, "LEDGER", {.from = std::uint64_t{5}, .to = std::uint64_t{4}},
                                                     plain(), asio::as_tuple(asio::use_awaitable));
    BOOST_TEST(backwards == nc::errc::invalid_argument);
    auto [zero, r2] = co_await nc::replay::open(js, "LEDGER", {.from = std::uint64_t{0}}, plain(),
                                                asio::as_tuple(asio::use_awaitable));
    BOOST_TEST(zero == nc::errc::invalid_argument);
    auto [missing, r3] = co_await nc::replay::open(js, "NO_SUCH", {}, plain(), asio::as_tuple(asio::use_awaitable));
    BOOST_TEST(missing == nc::jetstream_errc::stream_not_found);
    auto [bad_name, r4] = co_await nc::replay::open(js, "LED.GER", {}, plain(), asio::as_tuple(asio::use_awaitable));
    BOOST_TEST(bad_name == nc::errc::invalid_argument);
    auto [bad_filter, r5] = co_await nc::replay::open(js, "LEDGER", {.filter_subject = "ledger..x"}, plain(),
                                                      asio::as_tuple(asio::use_awaitable));
    BOOST_TEST(bad_filter == nc::errc::invalid_subject);
    conn.close();
  });
}

BOOST_FIXTURE_TEST_CASE(a_lost_consumer_is_replaced_without_a_gap_or_a_repeat, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await create_ledger(js);
    fill_ledger(server);
    auto opts = plain();
    opts.capacity = 8;
    auto r = co_await nc::replay::open(js, "LEDGER", {}, opts);
    std::vector<std::uint64_t> got;
    while (got.size() < 30) got.push_back((co_await r.next())->metadata().stream_sequence);
    // An operator (or the inactive threshold) removes the consumer mid-replay.
    const auto names = co_await js.list_consumers("LEDGER");
    BOOST_REQUIRE(names.size() == 1u);
    co_await js.delete_consumer("LEDGER", names.front());
    while (auto m = co_await r.next()) got.push_back(m->metadata().stream_sequence);
    BOOST_TEST(got == sequences(1, 100), boost::test_tools::per_element());
    BOOST_TEST(r.stats().restarts >= 1u);
    BOOST_TEST((co_await js.list_consumers("LEDGER")).empty());
    conn.close();
  });
}

BOOST_FIXTURE_TEST_CASE(close_and_cancellation_lose_nothing, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await create_ledger(js);
    fill_ledger(server, 10);
    auto r = co_await nc::replay::open(js, "LEDGER", {}, plain());
    BOOST_TEST((co_await r.next())->metadata().stream_sequence == 1u);
    // A next() cancelled at once either got its message or completed with
    // operation_aborted; either way the next call goes on from there.
    std::vector<std::uint64_t> got{1};
    for (int i = 0; i < 3; ++i) {
      asio::cancellation_signal cancel;
      auto pending = r.next(asio::bind_cancellation_slot(cancel.slot(), asio::as_tuple(asio::use_awaitable)));
      cancel.emit(asio::cancellation_type::terminal);
      auto [ec, m] = co_await std::move(pending);
      if (m)
        got.push_back(m->metadata().stream_sequence);
      else
        BOOST_TEST(ec == asio::error::operation_aborted);
    }
    got.push_back((co_await r.next())->metadata().stream_sequence);
    for (std::size_t i = 1; i < got.size(); ++i) BOOST_TEST(got[i] == got[i - 1] + 1);
    co_await r.close();
    BOOST_TEST((co_await js.list_consumers("LEDGER")).empty());
    BOOST_TEST(!(co_await r.next()).has_value());

    // Dropping the last handle mid-replay deletes the consumer in the background.
    {
      auto dropped = co_await nc::replay::open(js, "LEDGER", {}, plain());
      BOOST_TEST((co_await dropped.next()).has_value());
    }
    std::vector<std::string> left{"?"};
    asio::steady_timer poll(ex);
    for (int i = 0; i < 500 && !left.empty(); ++i) {  // up to 5 s: one API round trip, then the server's reply
      left = co_await js.list_consumers("LEDGER");
      poll.expires_after(10ms);
      co_await poll.async_wait(asio::use_awaitable);
    }
    BOOST_TEST(left.empty());
    conn.close();
  });
}
