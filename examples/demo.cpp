// The natscoro demo: connects, shows what the server says about itself and
// every state change of the connection, publishes a batch of CloudEvents with
// verified PubAcks, then drains.
//
//   natscoro_demo [NATS_URL]      (default: $NATS_URL, else nats://127.0.0.1:4222)
#include <natscoro/natscoro.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <iostream>

namespace asio = boost::asio;
namespace nc = natscoro;

asio::awaitable<void> demo(asio::any_io_executor ex, std::string url) {
  nc::connect_options opts;
  opts.servers = {url};
  opts.name = "natscoro-demo";
  opts.on_event = [](const nc::connection_event& ev) {
    std::cout << "event: " << nc::to_string(ev.kind) << " " << ev.server_url
              << (ev.error ? " (" + ev.error.message() + ")" : std::string()) << "\n";
  };
  nc::connection conn = co_await nc::connect(ex, opts);

  const nc::server_info info = conn.info();
  std::cout << "connected to " << info.connected_url << "\n"
            << "  server id:    " << info.server_id << "\n"
            << "  max payload:  " << info.max_payload << " bytes\n"
            << "  headers:      " << (info.headers ? "yes" : "no") << "\n"
            << "  client id:    " << info.client_id << " (" << info.client_ip << ")\n";

  nc::jetstream js{conn};
  nc::stream_config scfg;
  scfg.name = "DEMO_EVENTS";
  scfg.subjects = {"demo.>"};
  const nc::ensure_result created = co_await js.ensure_stream(scfg);
  std::cout << "stream DEMO_EVENTS " << (created == nc::ensure_result::created ? "created" : "already there") << "\n";

  nc::publisher_options popts;
  popts.source = "natscoro-demo";
  popts.subject_prefix = "demo";
  nc::publisher pub{js, popts};
  constexpr int count = 1000;
  nc::pub_ack last;
  for (int i = 0; i < count; ++i) {
    auto evt = nc::event::make("order.placed", "org-" + std::to_string(i % 7), boost::json::object{{"order", i}});
    pub.publish(evt, [&last](nc::error_code ec, nc::pub_ack ack) {
      if (!ec && ack.sequence > last.sequence) last = ack;
    });
  }
  co_await pub.flush();
  const auto stats = pub.stats();
  std::cout << "published " << stats.published << " events: " << stats.acknowledged << " acknowledged, "
            << stats.failed << " failed; last sequence " << last.sequence << " in " << last.stream << "\n";

  co_await conn.drain();
  std::cout << "drained and closed\n";
}

int main(int argc, char** argv) {
  const char* env = std::getenv("NATS_URL");
  std::string url = argc > 1 ? argv[1] : (env != nullptr && *env != '\0' ? env : "nats://127.0.0.1:4222");
  asio::io_context ioc;
  int status = 0;
  asio::co_spawn(ioc, demo(ioc.get_executor(), url), [&](std::exception_ptr e) {
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
