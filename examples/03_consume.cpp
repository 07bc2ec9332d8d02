// 03 consume: a durable pull consumer read with `while (auto m = co_await
// c.next())`, each message acknowledged; a drain ends the loop.
//
//   example_03_consume [NATS_URL]   (default: $NATS_URL, else nats://127.0.0.1:4222)
#include "example_main.hpp"

#include <natscoro/natscoro.hpp>

#include <boost/asio/detached.hpp>
#include <boost/json/serialize.hpp>

namespace asio = boost::asio;
namespace nc = natscoro;

asio::awaitable<int> consume(asio::any_io_executor ex, std::string url) {
  nc::connect_options copts;
  copts.servers = {url};
  nc::connection conn = co_await nc::connect(ex, copts);
  nc::jetstream js{conn};
  nc::stream_config stream;
  stream.name = "AUTH_EVENTS";
  stream.subjects = {"auth.>"};
  co_await js.ensure_stream(stream);
  nc::publisher_options popts;
  popts.source = "auth-service";
  nc::publisher pub{js, popts};
  for (int user = 1; user <= 5; ++user)
    co_await pub.publish("auth.user.created",
                         nc::event::make("user.created", "org-42", boost::json::object{{"user", user}}));

  //! [consume]
  nc::consumer_config cfg;
  cfg.durable = "analytics";  // lives on the server: a restart resumes after the last ack
  cfg.filter_subject = "auth.user.>";
  cfg.ack_wait = std::chrono::seconds(30);  // redelivered if not acknowledged by then
  cfg.max_deliver = 5;
  nc::consumer cons = co_await js.consumer("AUTH_EVENTS", cfg);  // created if missing

  int seen = 0;
  while (std::optional<nc::message> msg = co_await cons.next()) {  // empty once drained
    const nc::event evt = msg->event();
    std::cout << "#" << msg->metadata().stream_sequence << " " << evt.type << " " << boost::json::serialize(evt.data)
              << "\n";
    msg->ack();                                   // written at once; nak(), nak(delay), term() and in_progress() too
    if (++seen == 5) cons.drain(asio::detached);  // stop pulling, give back what is held
  }
  //! [consume]

  co_await conn.drain();
  co_return seen == 5 ? 0 : 1;
}

int main(int argc, char** argv) {
  const std::string url = natscoro_examples::server_url(argc, argv);
  return natscoro_examples::run("example 03", [&](asio::any_io_executor ex) { return consume(ex, url); });
}
