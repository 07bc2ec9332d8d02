// 05 dead letter and replay: an event its handler cannot process goes to a
// dead-letter stream with the reason; an operator lists it, the bug is fixed,
// and the entry is replayed to its original subject and handled.
//
//   example_05_dead_letter [NATS_URL]   (default: $NATS_URL, else nats://127.0.0.1:4222)
#include "example_main.hpp"

#include <natscoro/natscoro.hpp>

#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;
namespace nc = natscoro;

// Drains `cons` once its runner has settled `count` messages (handled or dead-lettered).
asio::awaitable<void> drain_after(nc::consumer cons, std::uint64_t count) {
  asio::steady_timer tick(co_await asio::this_coro::executor);
  for (;;) {
    const nc::runner_stats s = cons.run_stats();
    if (s.handled + s.dead_lettered >= count) break;
    tick.expires_after(std::chrono::milliseconds(20));
    co_await tick.async_wait(asio::use_awaitable);
  }
  co_await cons.drain();
}

asio::awaitable<int> dead_letter_and_replay(asio::any_io_executor ex, std::string url) {
  nc::connect_options copts;
  copts.servers = {url};
  nc::connection conn = co_await nc::connect(ex, copts);
  nc::jetstream js{conn};
  nc::stream_config stream;
  stream.name = "PAYMENTS";
  stream.subjects = {"payments.>"};
  co_await js.ensure_stream(stream);
  nc::publisher_options popts;
  popts.source = "payment-gateway";
  nc::publisher pub{js, popts};
  for (int amount : {100, -40, 250})
    co_await pub.publish("payments.received",
                         nc::event::make("payment.received", "bank-1", boost::json::object{{"amount", amount}}));

  //! [dead-letter]
  bool refunds_supported = false;  // the bug: a negative amount is a refund
  auto handler = [&](nc::message& msg) -> asio::awaitable<void> {
    const std::int64_t amount = msg.event().data.at("amount").as_int64();
    if (amount < 0 && !refunds_supported)
      throw nc::permanent_error("negative amount " + std::to_string(amount));  // no retry: dead-lettered now
    std::cout << "booked " << amount << "\n";
    co_return;
  };
  nc::run_options opts;
  opts.dead_letter = nc::dead_letter_options{.stream = "DLQ_PAYMENTS", .subject_prefix = "dlq"};
  //! [dead-letter]

  nc::consumer_config cfg;
  cfg.durable = "ledger";
  nc::consumer cons = co_await js.consumer("PAYMENTS", cfg);
  asio::co_spawn(ex, drain_after(cons, 3), asio::detached);
  co_await cons.run(handler, opts);  // returns once drained

  //! [dead-letter-tools]
  nc::dead_letter_queue dlq{js, "DLQ_PAYMENTS"};
  for (const nc::dead_letter_entry& e : co_await dlq.list(1, 100))
    std::cout << "dead-lettered: " << e.original_subject << " #" << e.original_sequence << " after " << e.deliveries
              << " deliveries: " << e.error << "\n";
  refunds_supported = true;                                // the fix is deployed
  const std::size_t replayed = co_await dlq.replay_all();  // back to the original subject, then deleted
  std::cout << "replayed " << replayed << "\n";
  //! [dead-letter-tools]

  nc::consumer again = co_await js.consumer("PAYMENTS", cfg);  // the same durable, where it left off
  asio::co_spawn(ex, drain_after(again, 1), asio::detached);
  co_await again.run(handler, opts);
  const bool ok = cons.run_stats().dead_lettered == 1 && replayed == 1 && again.run_stats().handled == 1 &&
                  (co_await dlq.list(1, 100)).empty();
  co_await conn.drain();
  co_return ok ? 0 : 1;
}

int main(int argc, char** argv) {
  const std::string url = natscoro_examples::server_url(argc, argv);
  return natscoro_examples::run("example 05",
                                [&](asio::any_io_executor ex) { return dead_letter_and_replay(ex, url); });
}
