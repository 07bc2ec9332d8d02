// The natscoro side of each workload, written the way the documentation shows natscoro
// is used; raw_nats_bench.cpp is the same workload on nats.c alone. scripts/bench.sh
// alternates the two and then calls `summary`.
//
//   natscoro_bench fill|run A-L [--server URL] [--quick] [--dir DIR] [--postgres CONNINFO]
//   natscoro_bench summary RESULTS.jsonl OUT.json PLOT_DIR [MACHINE]
#include "bench_common.hpp"
#include "summary.hpp"

#include <natscoro/natscoro.hpp>
#if NATSCORO_BENCH_POSTGRES
#include <natscoro/postgres_outbox.hpp>

#include <libpq-fe.h>
#endif

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <filesystem>

namespace asio = boost::asio;
namespace nc = natscoro;
using namespace std::chrono_literals;
using bench::workload;

namespace {

nc::event make_event(const std::string& data) { return nc::event::make("bench.created", "org-1", data); }

/// The event data: a JSON string whose encoding is payload_bytes long.
std::string event_data() { return std::string(bench::payload_bytes - 2, 'x'); }

asio::awaitable<void> recreate_stream(const nc::jetstream& js) {
  try {
    co_await js.delete_stream(bench::stream_name);
  } catch (const boost::system::system_error& e) {  // absent the first time
    if (e.code() != nc::jetstream_errc::stream_not_found) throw;
  }
  nc::stream_config cfg;
  cfg.name = bench::stream_name;
  cfg.subjects = {"bench.>"};
  co_await js.ensure_stream(cfg);
}

asio::awaitable<void> stored(const nc::jetstream& js, bench::result& r) {
  const auto info = co_await js.stream_info(bench::stream_name);
  r.message_size(info.state.bytes, info.state.messages);
}

/// Publishes `n` events pipelined as docs/publishing.md shows: at most the window
/// unacknowledged, waiting for room only when there is none.
asio::awaitable<void> publish_pipelined(nc::publisher& pub, const workload& w, std::uint64_t n) {
  const std::string data = event_data();
  std::uint64_t failed = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    if (!pub.has_room()) co_await pub.wait_for_room();
    pub.publish(bench::subject_for(w, i), make_event(data),
                [&failed](nc::error_code ec, nc::pub_ack) { failed += !!ec; });
  }
  co_await pub.flush();
  if (failed > 0) throw std::runtime_error(std::to_string(failed) + " publishes failed");
}

nc::consumer_config durable(std::string name, std::string filter, nc::deliver_policy deliver) {
  nc::consumer_config cfg;
  cfg.durable = std::move(name);
  cfg.filter_subject = std::move(filter);
  cfg.deliver = deliver;
  cfg.max_ack_pending = 10'000;
  return cfg;
}

/// Runs the runner until `stop_after` messages were handled or `seconds` passed (if > 0).
asio::awaitable<void> run_runner(nc::consumer cons, const workload& w, std::uint64_t stop_after, double seconds,
                                 std::chrono::milliseconds handler_time, bench::result& r,
                                 std::optional<nc::processed_id_options> processed_ids = std::nullopt) {
  std::uint64_t handled = 0;
  std::optional<bench::section> measured;
  nc::run_options ro;
  ro.concurrency = w.concurrency;
  ro.ordering_key = nc::key_by_subject_token(2);  // bench.<w>.<key>
  ro.processed_ids = std::move(processed_ids);
  auto handler = [&](nc::message&) -> asio::awaitable<void> {
    if (handler_time.count() > 0) {
      asio::steady_timer t(co_await asio::this_coro::executor, handler_time);
      co_await t.async_wait(asio::use_awaitable);
    }
    if (++handled == stop_after) {
      measured->stop();
      cons.drain(asio::detached);
    }
  };
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer stop_timer(ex);
  if (seconds > 0) {
    stop_timer.expires_after(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds)));
    stop_timer.async_wait([&, cons](nc::error_code ec) mutable {
      if (ec) return;
      measured->stop();
      cons.drain(asio::detached);
    });
  }
  measured.emplace();
  co_await cons.run(handler, ro);
  stop_timer.cancel();
  r.measured(handled, *measured);
  r.set("concurrency", w.concurrency);
  r.set("keys", w.keys);
}

// ---- the outbox workloads (H to K) ----

/// A connection that reaches no server (a degraded start): an outbox on it stores
/// events and relays none, so they stay pending.
asio::awaitable<nc::connection> offline_connection() {
  nc::connect_options o;
  o.servers = {"nats://127.0.0.1:1"};
  o.retry_on_failed_connect = true;
  o.name = "natscoro-bench-offline";
  co_return co_await nc::connect(co_await asio::this_coro::executor, o);
}

std::string outbox_file(const bench::command_line& cl) {
  return cl.dir + "/natscoro-bench-" + std::string(1, cl.load.id) + ".db";
}

void remove_outbox_file(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

nc::outbox_options outbox_options_for(const bench::command_line& cl) {
  nc::outbox_options o;
  o.path = outbox_file(cl);
  o.publish.source = "natscoro-bench";
  o.publish.max_in_flight = cl.load.window > 0 ? cl.load.window : 4096;
  o.max_bytes = std::uint64_t{8} << 30;
  return o;
}

/// w.producers coroutines store `n` events in `ob`; each publish's time into `us`.
template <class Outbox>
asio::awaitable<void> store_events(Outbox& ob, const workload& w, std::uint64_t n, std::vector<double>& us) {
  auto ex = co_await asio::this_coro::executor;
  const std::string data = event_data();
  std::uint64_t next = 0;
  std::size_t finished = 0;
  for (std::size_t p = 0; p < w.producers; ++p)
    asio::co_spawn(
        ex,
        [&]() -> asio::awaitable<void> {
          while (next < n) {
            const auto i = next++;
            const auto t0 = bench::clock::now();
            co_await ob.publish(bench::subject_for(w, i), make_event(data));
            us.push_back(bench::micros(bench::clock::now() - t0));
          }
          ++finished;
        },
        asio::detached);
  asio::steady_timer poll(ex);
  while (finished < w.producers) {
    poll.expires_after(1ms);
    co_await poll.async_wait(asio::use_awaitable);
  }
}

/// Waits until `done()`, looking every millisecond.
asio::awaitable<void> poll_until(std::function<bool()> done) {
  asio::steady_timer poll(co_await asio::this_coro::executor);
  while (!done()) {
    poll.expires_after(1ms);
    co_await poll.async_wait(asio::use_awaitable);
  }
}

/// natscoro's direct pipelined publish of w.messages (workload A's code), in msgs/s:
/// what the relay is compared with, in the same run.
asio::awaitable<double> direct_publish_rate(const nc::jetstream& js, const workload& w) {
  co_await recreate_stream(js);
  nc::publisher pub{js, nc::publisher_options{.source = "natscoro-bench", .max_in_flight = w.window}};
  const auto start = bench::clock::now();
  co_await publish_pipelined(pub, w, w.messages);
  const double rate = static_cast<double>(w.messages) / bench::seconds_since(start);
  co_await recreate_stream(js);
  co_return rate;
}

asio::awaitable<void> run_outbox(nc::connection& conn, const bench::command_line& cl, bench::result& r) {
  const workload& w = cl.load;
  nc::jetstream js{conn};
  std::vector<double> us;
  switch (w.id) {
    case 'H': {  // stores while the relay publishes
      remove_outbox_file(outbox_file(cl));
      co_await recreate_stream(js);
      auto ob = co_await nc::outbox::open(js, outbox_options_for(cl));
      bench::section measured;
      co_await store_events(ob, w, w.messages, us);
      r.measured(w.messages, measured);
      r.latencies(us);
      r.set("commits", ob.stats().commits);
      co_await poll_until([&] { return ob.stats().pending == 0; });
      co_await ob.close();
      remove_outbox_file(outbox_file(cl));
      co_await stored(js, r);
      break;
    }
    case 'I': {  // `fill` stored the backlog while no server answered
      const double direct = co_await direct_publish_rate(js, w);
      bench::section measured;
      auto ob = co_await nc::outbox::open(js, outbox_options_for(cl));
      co_await poll_until([&] { return ob.stats().pending == 0; });
      const double seconds = measured.seconds();
      r.measured(ob.stats().relayed, measured);
      co_await ob.close();
      remove_outbox_file(outbox_file(cl));
      r.set("direct_msgs_per_s", direct);
      r.set("relay_vs_direct", static_cast<double>(w.messages) / seconds / direct);
      co_await stored(js, r);
      break;
    }
#if NATSCORO_BENCH_POSTGRES
    case 'J': {  // `fill` committed the backlog to the table
      const double direct = co_await direct_publish_rate(js, w);
      nc::postgres_outbox_options opts;
      opts.conninfo = cl.postgres;
      opts.publish.source = "natscoro-bench";
      opts.publish.max_in_flight = w.window;
      bench::section measured;
      auto ob = co_await nc::postgres_outbox::open(js, opts);
      co_await poll_until([&] { return ob.stats().relayed >= w.messages; });
      const double seconds = measured.seconds();
      r.measured(ob.stats().relayed, measured);
      co_await ob.close();
      r.set("direct_msgs_per_s", direct);
      r.set("relay_vs_direct", static_cast<double>(w.messages) / seconds / direct);
      co_await stored(js, r);
      break;
    }
#endif
    case 'K': {  // the broker is down: everything stays pending
      remove_outbox_file(outbox_file(cl));
      auto offline = co_await offline_connection();
      auto ob = co_await nc::outbox::open(nc::jetstream{offline}, outbox_options_for(cl));
      bench::section measured;
      co_await store_events(ob, w, w.messages, us);
      r.measured(w.messages, measured);
      r.latencies(us);
      r.set("pending", ob.stats().pending);
      r.print();  // memory while they are pending
      co_await ob.close();
      offline.close();
      remove_outbox_file(outbox_file(cl));
      co_return;
    }
    default:
      throw std::invalid_argument(std::string("workload ") + w.id + " is not built here (no PostgreSQL)");
  }
  r.print();
}

/// Stores the backlog the relay workloads drain, with no server to relay it to.
asio::awaitable<void> fill_outbox(const bench::command_line& cl) {
  const workload& w = cl.load;
  auto offline = co_await offline_connection();
  std::vector<double> us;
  if (w.id == 'I') {
    remove_outbox_file(outbox_file(cl));
    auto ob = co_await nc::outbox::open(nc::jetstream{offline}, outbox_options_for(cl));
    co_await store_events(ob, w, w.messages, us);
    co_await ob.close();
  }
#if NATSCORO_BENCH_POSTGRES
  if (w.id == 'J') {
    nc::postgres_outbox_options opts;
    opts.conninfo = cl.postgres;
    opts.publish.source = "natscoro-bench";
    auto ob = co_await nc::postgres_outbox::open(nc::jetstream{offline}, opts);  // the schema
    PGconn* db = PQconnectdb(cl.postgres.c_str());
    auto exec = [db](const char* sql) {
      PGresult* res = PQexec(db, sql);
      const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
      PQclear(res);
      if (!ok) throw std::runtime_error(std::string(sql) + ": " + PQerrorMessage(db));
    };
    exec("TRUNCATE natscoro_outbox");
    const std::string data = event_data();
    for (std::uint64_t i = 0; i < w.messages; i += 1000) {
      exec("BEGIN");
      for (std::uint64_t j = i; j < std::min(w.messages, i + 1000); ++j)
        ob.stage(db, bench::subject_for(w, j), make_event(data));
      exec("COMMIT");
    }
    PQfinish(db);
    co_await ob.close();
  }
#endif
  offline.close();
}

asio::awaitable<void> run(nc::connection& conn, const workload& w, bench::result& r) {
  nc::jetstream js{conn};
  const std::string data = event_data();
  switch (w.id) {
    case 'A': {
      co_await recreate_stream(js);
      nc::publisher pub{js, nc::publisher_options{.source = "natscoro-bench", .max_in_flight = w.window}};
      bench::section measured;
      co_await publish_pipelined(pub, w, w.messages);
      r.measured(w.messages, measured);
      co_await stored(js, r);
      break;
    }
    case 'B': {
      co_await recreate_stream(js);
      nc::publisher pub{js, nc::publisher_options{.source = "natscoro-bench"}};
      for (std::uint64_t i = 0; i < w.warmup; ++i) co_await pub.publish(bench::subject_for(w, i), make_event(data));
      std::vector<double> us;
      us.reserve(w.messages);
      bench::section measured;
      for (std::uint64_t i = 0; i < w.messages; ++i) {
        const auto t0 = bench::clock::now();
        co_await pub.publish(bench::subject_for(w, i), make_event(data));
        us.push_back(bench::micros(bench::clock::now() - t0));
      }
      r.measured(w.messages, measured);
      r.latencies(us);
      co_await stored(js, r);
      break;
    }
    case 'C': {
      co_await stored(js, r);
      auto cons = co_await js.consumer(bench::stream_name, durable("bench", "bench.>", nc::deliver_policy::all),
                                       nc::consumer_options{.capacity = w.batch});
      // The first half one message at a time (next(), the loop of docs/consuming.md), the
      // second in batches as raw nats.c fetches them (next_batch(500)): the headline.
      const std::uint64_t half = w.messages / 2;
      bench::section one_by_one;
      for (std::uint64_t i = 0; i < half; ++i) {
        auto m = co_await cons.next();
        m->ack();
      }
      const double next_cpu = one_by_one.cpu(), next_seconds = one_by_one.seconds();
      r.set("next_msgs_per_s", static_cast<double>(half) / next_seconds);
      r.set("next_cpu_us_per_msg", next_cpu * 1e6 / static_cast<double>(half));
      bench::section batched;
      for (std::uint64_t taken = half; taken < w.messages;) {
        auto batch = co_await cons.next_batch(std::min<std::uint64_t>(w.batch, w.messages - taken));
        for (auto& m : batch) m.ack();
        taken += batch.size();
      }
      r.measured(w.messages - half, batched);
      co_await cons.drain();
      break;
    }
    case 'D': {
      co_await recreate_stream(js);
      auto cons =
          co_await js.consumer(bench::stream_name, durable("bench", "bench.>", nc::deliver_policy::new_messages));
      nc::publisher pub{js, nc::publisher_options{.source = "natscoro-bench"}};
      std::vector<double> us;
      auto one = [&](std::uint64_t i) -> asio::awaitable<void> {
        const auto t0 = bench::clock::now();
        pub.publish(bench::subject_for(w, i), make_event(data), asio::detached);
        auto m = co_await cons.next();
        us.push_back(bench::micros(bench::clock::now() - t0));
        m->ack();
      };
      for (std::uint64_t i = 0; i < w.warmup; ++i) co_await one(i);
      us.clear();
      us.reserve(w.messages);
      bench::section measured;
      for (std::uint64_t i = 0; i < w.messages; ++i) co_await one(i);
      r.measured(w.messages, measured);
      r.latencies(us);
      co_await pub.flush();
      co_await stored(js, r);
      co_await cons.drain();
      break;
    }
    case 'E': {
      co_await stored(js, r);
      auto cons = co_await js.consumer(bench::stream_name, durable("bench", "bench.>", nc::deliver_policy::all),
                                       nc::consumer_options{.capacity = w.batch});
      co_await run_runner(cons, w, w.messages, 0, 0ms, r);
      break;
    }
    case 'L': {
      co_await stored(js, r);
      const nc::consumer_options capacity{.capacity = w.batch};
      auto plain =
          co_await js.consumer(bench::stream_name, durable("plain", "bench.>", nc::deliver_policy::all), capacity);
      co_await run_runner(plain, w, w.messages, 0, 0ms, r);
      const double without = r.value("msgs_per_s");
      auto recorded =
          co_await js.consumer(bench::stream_name, durable("recorded", "bench.>", nc::deliver_policy::all), capacity);
      co_await run_runner(recorded, w, w.messages, 0, 0ms, r, nc::processed_id_options{.bucket = "bench_processed"});
      r.set("without_store_msgs_per_s", without);
      r.set("store_vs_none", r.value("msgs_per_s") / without);
      break;
    }
    case 'F': {
      co_await stored(js, r);
      auto cons = co_await js.consumer(bench::stream_name, durable("bench", "bench.>", nc::deliver_policy::all));
      co_await run_runner(cons, w, w.messages, w.seconds, 1ms, r);
      r.set("backlog", w.messages);
      break;
    }
    case 'G': {
      co_await recreate_stream(js);
      std::vector<nc::consumer> consumers;
      const auto start = bench::clock::now();
      for (std::size_t i = 0; i < w.consumers; ++i)
        consumers.push_back(co_await js.consumer(
            bench::stream_name, durable("g" + std::to_string(i), bench::subject_for(w, i), nc::deliver_policy::all)));
      r.set("setup_s", bench::seconds_since(start));
      auto ex = co_await asio::this_coro::executor;
      std::size_t received = 0;
      for (auto& c : consumers)
        asio::co_spawn(
            ex,
            [&received, c]() mutable -> asio::awaitable<void> {
              auto m = co_await c.next();
              m->ack();
              ++received;
            },
            asio::detached);
      nc::publisher pub{js, nc::publisher_options{.source = "natscoro-bench"}};
      bench::section delivered;
      for (std::size_t i = 0; i < w.consumers; ++i)
        pub.publish(bench::subject_for(w, i), make_event(data), asio::detached);
      asio::steady_timer poll(ex);
      while (received < w.consumers) {
        poll.expires_after(1ms);
        co_await poll.async_wait(asio::use_awaitable);
      }
      r.measured(received, delivered);
      r.set("consumers", w.consumers);
      r.print();  // threads and memory while every consumer is alive
      co_await pub.flush();
      for (auto& c : consumers) c.stop();
      co_return;
    }
  }
  r.print();
}

asio::awaitable<void> fill(nc::connection& conn, const workload& w) {
  nc::jetstream js{conn};
  co_await recreate_stream(js);
  nc::publisher pub{js, nc::publisher_options{.source = "natscoro-bench", .max_in_flight = 4096}};
  co_await publish_pipelined(pub, w, w.messages);
}

int run_client(const bench::command_line& cl) {
  asio::io_context io;
  int status = 1;
  // On a strand, which connect() then keeps as the connection's: every call runs
  // inline, the cheapest setup (docs/threading.md).
  asio::co_spawn(
      asio::make_strand(io),
      [&]() -> asio::awaitable<void> {
        if (cl.fill && cl.load.outbox) {
          co_await fill_outbox(cl);
          status = 0;
          co_return;
        }
        nc::connect_options opts;
        opts.servers = {cl.server};
        opts.name = "natscoro-bench";
        // The library's defaults, except where latency is measured (raw nats.c sets SendAsap there too).
        opts.send_asap = cl.load.send_asap;
        auto conn = co_await nc::connect(co_await asio::this_coro::executor, opts);
        if (cl.fill) {
          co_await fill(conn, cl.load);
        } else {
          bench::result r(cl.load, "natscoro");
          if (cl.load.outbox)
            co_await run_outbox(conn, cl, r);
          else
            co_await run(conn, cl.load, r);
        }
        co_await conn.drain();
        status = 0;
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc >= 2 && std::string(argv[1]) == "summary") return bench::summarize(argc - 2, argv + 2);
    nc::logger()->set_level(spdlog::level::warn);
    const auto cl = bench::parse_command_line(argc, argv);
    if (cl.fill && !cl.load.needs_fill) return 0;
    return run_client(cl);
  } catch (const std::exception& e) {
    std::cerr << argv[0] << ": " << e.what() << "\n";
    return 1;
  }
}
