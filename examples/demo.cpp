// The natscoro demo: the whole system on one server.
//
//   natscoro_demo [NATS_URL [TOPOLOGY_FILE]]
//     (default: $NATS_URL, else nats://127.0.0.1:4222; examples/topologies/giia.json)
//
// 1. applies the GIIA topology (seven streams, DLQ_EVENTS);
// 2. publishes 5,000 CloudEvents for 500 entities (users), each with a verified PubAck;
// 3. two runner instances handle them, ordered per user: the users are split in two
//    partitions by subject ("auth.p0.>", "auth.p1.>"), one durable each, so the order per
//    user holds across the instances. One event in a hundred always fails (it ends in
//    DLQ_EVENTS); one in ten fails its first attempt (retried in its lane);
// 4. prints a summary: published, acknowledged, handled per instance, retried,
//    dead-lettered, order violations, lost, end-to-end latency. Exit code 1 if any
//    event was lost or handled out of order. Counted per event id, so that a fault
//    (a server restart, a lost ack) that delivers an event again shows as a
//    redelivery, not as an event too many or out of order.
#include <natscoro/natscoro.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>

namespace asio = boost::asio;
namespace nc = natscoro;
using namespace std::chrono_literals;

namespace {

constexpr int users = 500;
constexpr int events_per_user = 10;
constexpr int total = users * events_per_user;
constexpr int partitions = 2;

struct instance_result {
  std::uint64_t handled = 0;
  nc::runner_stats stats;
};

struct shared_state {
  std::map<std::string, std::uint64_t> last_sequence;  // per user, of the newest event handled the first time
  std::set<std::string> first_attempt_failed;          // event ids
  std::set<std::string> handled;                       // event ids handled at least once
  std::vector<double> latency_ms;                      // publish time to handled
  std::uint64_t order_violations = 0;  // an event handled for the first time after a newer one of its user
  std::uint64_t redelivered = 0;       // handled again (at-least-once after a fault)
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

asio::awaitable<void> demo(asio::any_io_executor ex, std::string url, std::string topology_file, int& status) {
  nc::connect_options opts;
  opts.servers = {url};
  opts.name = "natscoro-demo";
  nc::connection conn = co_await nc::connect(ex, opts);
  std::cout << "connected to " << conn.info().connected_url << " (server " << conn.info().server_id << ")\n";
  nc::jetstream js{conn};

  // 1. The topology.
  std::cout << "\napplying " << topology_file << ":\n";
  for (const auto& change : co_await nc::apply_topology(js, nc::load_topology(topology_file), false))
    std::cout << "  " << std::left << std::setw(32) << change.name
              << (change.result == nc::ensure_result::created   ? "created"
                  : change.result == nc::ensure_result::updated ? "updated"
                                                                : "unchanged")
              << "\n";

  // Fresh demo consumers, starting with what is published from now on.
  const auto dlq_before = (co_await js.stream_info("DLQ_EVENTS")).state.messages;
  std::vector<nc::consumer> instances;
  std::vector<nc::connection> connections;
  for (int p = 0; p < partitions; ++p) {
    nc::consumer_config cfg;
    cfg.durable = "demo-p" + std::to_string(p);
    cfg.filter_subject = "auth.p" + std::to_string(p) + ".>";
    cfg.deliver = nc::deliver_policy::new_messages;
    cfg.ack_wait = 10s;
    cfg.max_deliver = 5;
    if (std::ranges::count((co_await js.list_consumers("AUTH_EVENTS")), cfg.durable) > 0)
      co_await js.delete_consumer("AUTH_EVENTS", cfg.durable);
    connections.push_back(
        co_await nc::connect(ex, opts));  // each instance its own connection, as separate processes would
    instances.push_back(co_await nc::jetstream{connections.back()}.consumer("AUTH_EVENTS", cfg));
  }

  // 3. The runners (started before publishing: end-to-end latency is measured live).
  shared_state state;
  std::vector<instance_result> results(partitions);
  int running = partitions;
  for (int p = 0; p < partitions; ++p) {
    nc::run_options ro;
    ro.concurrency = 32;
    ro.ordering_key = nc::key_by_subject_token(3);  // auth.p<partition>.user.<id>.created -> <id>
    ro.retry = nc::retry_policy{.max_attempts = 3, .backoff = {50ms, 100ms}};
    ro.dead_letter = nc::dead_letter_options{.stream = "DLQ_EVENTS", .subject_prefix = "dlq"};
    auto handler = [&state, &results, p](nc::message& msg) -> asio::awaitable<void> {
      const nc::event evt = msg.event();
      const auto& data = evt.data.as_object();
      if (data.contains("poison")) throw std::runtime_error("this event always fails (demo)");
      if (data.at("i").as_int64() % 10 == 3 && state.first_attempt_failed.insert(evt.id).second)
        throw std::runtime_error("first attempt fails (demo)");
      ++results[static_cast<std::size_t>(p)].handled;
      if (!state.handled.insert(evt.id).second) {  // delivered again after a fault: no new order to check
        ++state.redelivered;
        co_return;
      }
      const std::string user = std::string(data.at("user").as_string());
      const auto seq = msg.metadata().stream_sequence;
      auto& last = state.last_sequence[user];
      if (seq < last) ++state.order_violations;
      last = seq;
      state.latency_ms.push_back(std::chrono::duration<double, std::milli>(nc::event::clock::now() - evt.time).count());
      co_return;
    };
    instances[static_cast<std::size_t>(p)].run(handler, ro, [&, p](nc::error_code ec) {
      results[static_cast<std::size_t>(p)].stats = instances[static_cast<std::size_t>(p)].run_stats();
      if (ec) std::cerr << "instance " << p << " ended: " << ec.message() << "\n";
      --running;
    });
  }

  // 2. The events.
  std::cout << "\npublishing " << total << " events for " << users << " users...\n";
  nc::publisher pub{js, nc::publisher_options{.source = "natscoro-demo"}};
  std::set<std::string> acknowledged, poison;  // event ids with a PubAck; of them, the always-failing ones
  for (int i = 0; i < events_per_user; ++i)
    for (int u = 0; u < users; ++u) {
      const std::string user = std::to_string(u);
      boost::json::object data{{"user", user}, {"i", i}};
      const bool always_fails = (u * events_per_user + i) % 100 == 42;
      if (always_fails) data["poison"] = true;
      auto evt = nc::event::make("user.updated", "org-" + std::to_string(u % 5), data);
      pub.publish("auth.p" + std::to_string(u % partitions) + ".user." + user + ".created", evt,
                  [&, id = evt.id, always_fails](nc::error_code ec, nc::pub_ack) {
                    if (ec) return;
                    acknowledged.insert(id);
                    if (always_fails) poison.insert(id);
                  });
    }
  co_await pub.flush();
  const auto published = pub.stats();

  // Until every event is handled or dead-lettered (or a minute has passed).
  asio::steady_timer timer(ex);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  auto dead_lettered = [&] {
    std::uint64_t n = 0;
    for (auto& i : instances) n += i.run_stats().dead_lettered;
    return n;
  };
  while (state.handled.size() + dead_lettered() < acknowledged.size() && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(20ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
  for (auto& i : instances) i.drain(10s, asio::detached);
  while (running > 0) {
    timer.expires_after(10ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
  const auto dlq_after = (co_await js.stream_info("DLQ_EVENTS")).state.messages;

  // 4. The summary.
  std::uint64_t retried = 0, dead = 0;
  for (const auto& r : results) {
    retried += r.stats.retried;
    dead += r.stats.dead_lettered;
  }
  // Lost: acknowledged, but neither handled nor one of the always-failing ones (those are
  // checked against what reached the DLQ).
  std::uint64_t lost = 0;
  for (const auto& id : acknowledged) lost += !state.handled.contains(id) && !poison.contains(id);
  const std::uint64_t dead_letters_stored = dlq_after - dlq_before;
  auto row = [](const std::string& what, const auto& value) {
    std::cout << "  " << std::left << std::setw(38) << what << std::right << std::setw(10) << value << "\n";
  };
  std::cout << "\nsummary\n";
  row("published", published.published);
  row("acknowledged (PubAck)", acknowledged.size());
  for (int p = 0; p < partitions; ++p)
    row("handled by instance " + std::to_string(p + 1), results[static_cast<std::size_t>(p)].handled);
  row("handled again (redelivered)", state.redelivered);
  row("retried (first attempts failed)", retried);
  row("dead-lettered (always failing)", dead);
  row("  of which now in DLQ_EVENTS", dead_letters_stored);
  row("order violations", state.order_violations);
  row("lost", lost);
  std::cout << std::fixed << std::setprecision(2);
  row("latency p50 (ms), publish to handled", percentile(state.latency_ms, 0.50));
  row("latency p95 (ms)", percentile(state.latency_ms, 0.95));
  row("latency p99 (ms)", percentile(state.latency_ms, 0.99));
  status = (lost == 0 && state.order_violations == 0 && dead_letters_stored == poison.size()) ? 0 : 1;

  for (auto& c : connections) co_await c.drain();
  co_await conn.drain();
}

}  // namespace

int main(int argc, char** argv) {
  const char* env = std::getenv("NATS_URL");
  const std::string url = argc > 1 ? argv[1] : (env != nullptr && *env != '\0' ? env : "nats://127.0.0.1:4222");
  const std::string topology = argc > 2 ? argv[2] : NATSCORO_DEMO_TOPOLOGY;
  nc::logger()->set_level(spdlog::level::err);  // the summary says what happened; warnings would be each retry
  std::cout << std::unitbuf;                    // each line as it happens, also into a pipe
  asio::io_context ioc;
  int status = 1;
  asio::co_spawn(ioc, demo(ioc.get_executor(), url, topology, status), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::cerr << "demo failed: " << ex.what() << "\n";
      status = 1;
    }
  });
  ioc.run();
  return status;
}
