// 02 publish: a typed event published as a CloudEvent, complete only once the
// stream has stored it (PubAck); the same event again is stored once; an event
// the publisher refuses says why.
//
//   example_02_publish [NATS_URL]   (default: $NATS_URL, else nats://127.0.0.1:4222)
#include "example_main.hpp"

#include <natscoro/natscoro.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/describe/class.hpp>

namespace asio = boost::asio;
namespace nc = natscoro;

//! [typed-event]
// A described struct: Boost.JSON converts it both ways, no code to write.
struct user_created {
  std::string user_id;
  std::string email;
};
BOOST_DESCRIBE_STRUCT(user_created, (), (user_id, email))
//! [typed-event]

asio::awaitable<int> publish(asio::any_io_executor ex, std::string url) {
  nc::connect_options copts;
  copts.servers = {url};
  nc::connection conn = co_await nc::connect(ex, copts);

  //! [publish]
  nc::jetstream js{conn};
  nc::stream_config stream;
  stream.name = "AUTH_EVENTS";
  stream.subjects = {"auth.>"};
  co_await js.ensure_stream(stream);  // created, updated to this configuration, or unchanged

  nc::publisher_options popts;
  popts.source = "auth-service";  // the CloudEvents source
  popts.subject_prefix = "auth";  // subject = "auth." + type
  nc::publisher pub{js, popts};

  nc::event evt = nc::event::make("user.created", "org-42", user_created{"u-7", "ada@example.com"});
  nc::pub_ack ack = co_await pub.publish(evt);  // completes once the stream has stored it
  std::cout << "stored in " << ack.stream << " at sequence " << ack.sequence << "\n";
  //! [publish]

  //! [publish-again]
  // The event id travels as Nats-Msg-Id: a retried publish is stored once.
  nc::pub_ack again = co_await pub.publish(evt);
  std::cout << "again: duplicate=" << again.duplicate << ", sequence " << again.sequence << "\n";
  //! [publish-again]

  //! [publish-refused]
  nc::event no_tenant = nc::event::make("user.created", "", user_created{"u-8", "bob@example.com"});
  nc::diagnostics diag;
  auto [ec, unused] = co_await pub.publish(no_tenant, nc::with_diagnostics(diag, asio::as_tuple(asio::deferred)));
  std::cout << "refused: " << ec.message() << ": " << diag.message << "\n";  // nothing was sent
  //! [publish-refused]

  //! [stream-mismatch]
  nc::stream_config in_memory = stream;
  in_memory.storage = nc::storage_type::memory;  // a stream's storage cannot be changed
  try {
    co_await js.ensure_stream(in_memory);
  } catch (const nc::error& e) {
    std::cout << "not applied: " << e.code().message() << ": " << e.detail() << "\n";  // the fields that differ
  }
  //! [stream-mismatch]

  co_await conn.drain();
  co_return again.duplicate&& again.sequence == ack.sequence&& ec == nc::errc::invalid_event ? 0 : 1;
}

int main(int argc, char** argv) {
  const std::string url = natscoro_examples::server_url(argc, argv);
  return natscoro_examples::run("example 02", [&](asio::any_io_executor ex) { return publish(ex, url); });
}
