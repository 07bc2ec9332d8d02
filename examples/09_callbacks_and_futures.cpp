// 09 callbacks and futures: the same operations without coroutines. Every
// operation takes any Asio completion token: asio::use_future from a thread
// that may block, a callback from one that may not.
//
//   example_09_callbacks_and_futures [NATS_URL]   (default: $NATS_URL, else nats://127.0.0.1:4222)
//
// Publishes ten events with callbacks, reads them with a callback chain, and
// waits for each step from main() with futures.
#include "example_main.hpp"

#include <natscoro/natscoro.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/use_future.hpp>

#include <future>
#include <thread>

namespace asio = boost::asio;
namespace nc = natscoro;

// Reads messages with callbacks, one next() after the other, until `left` is 0.
void read_next(nc::consumer cons, int left, std::promise<void>& done) {
  cons.next([cons, left, &done](nc::error_code ec, std::optional<nc::message> msg) mutable {
    if (ec || !msg) {
      done.set_exception(std::make_exception_ptr(std::runtime_error("next() ended early: " + ec.message())));
      return;
    }
    std::cout << "received " << msg->event().data.at("n") << "\n";
    msg->ack();
    if (left == 1)
      done.set_value();
    else
      read_next(cons, left - 1, done);
  });
}

int main(int argc, char** argv) {
  const std::string url = natscoro_examples::server_url(argc, argv);
  asio::io_context ioc;
  auto keep_running = asio::make_work_guard(ioc);
  std::thread io_thread([&] { ioc.run(); });
  int status = 0;
  try {
    //! [futures]
    nc::connect_options copts;
    copts.servers = {url};
    nc::connection conn = nc::connect(ioc.get_executor(), copts, asio::use_future).get();  // throws on failure
    nc::jetstream js{conn};
    nc::stream_config stream;
    stream.name = "METRICS";
    stream.subjects = {"metrics.>"};
    js.ensure_stream(stream, asio::use_future).get();
    //! [futures]

    //! [callbacks]
    nc::publisher_options popts;
    popts.source = "meter";
    nc::publisher pub{js, popts};
    std::atomic<int> stored{0};
    for (int n = 0; n < 10; ++n)
      pub.publish("metrics.reading", nc::event::make("meter.read", "org-1", boost::json::object{{"n", n}}),
                  [&stored](nc::error_code ec, nc::pub_ack ack) {  // on the connection's executor
                    if (ec)
                      std::cerr << "not stored: " << ec.message() << "\n";
                    else if (ack.sequence > 0)
                      ++stored;
                  });
    pub.flush(asio::use_future).get();  // every callback above has run
    //! [callbacks]
    std::cout << stored << " stored\n";

    nc::consumer_config cfg;
    cfg.durable = "dashboard";
    nc::consumer cons = js.consumer("METRICS", cfg, asio::use_future).get();
    std::promise<void> all_read;
    read_next(cons, 10, all_read);
    all_read.get_future().get();
    conn.drain(asio::use_future).get();
    status = stored == 10 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "example 09 failed: " << e.what() << "\n";
    status = 1;
  }
  keep_running.reset();
  io_thread.join();
  return status;
}
