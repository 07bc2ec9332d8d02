// Seeds 003 and 004: GIIA's auth service publishes its four events (the Go
// package's Event: id, type, source, organization, timestamp, schema version,
// data) with retries and backoff, and an analytics consumer group of two
// instances handles them by type, in order per user, failures retried and then
// dead-lettered to DLQ_EVENTS.
//
//   example_seed_003_giia_auth [NATS_URL]   (default: $NATS_URL, else nats://127.0.0.1:4222)
#include "example_main.hpp"

#include <natscoro/natscoro.hpp>

#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/describe/class.hpp>

#include <array>
#include <map>

namespace asio = boost::asio;
namespace nc = natscoro;
using namespace boost::asio::experimental::awaitable_operators;

struct user_created {
  std::string user_id, email, first_name, last_name, status;
};
BOOST_DESCRIBE_STRUCT(user_created, (), (user_id, email, first_name, last_name, status))
struct login_succeeded {
  std::string user_id, email;
};
BOOST_DESCRIBE_STRUCT(login_succeeded, (), (user_id, email))
struct login_failed {
  std::string email, reason;  // user_not_found, invalid_password, inactive_account
};
BOOST_DESCRIBE_STRUCT(login_failed, (), (email, reason))
struct role_assigned {
  std::string user_id, user_email, role_id, role_name;
};
BOOST_DESCRIBE_STRUCT(role_assigned, (), (user_id, user_email, role_id, role_name))

// The Go service injects a TimeManager so tests control timestamps; any clock will do.
using time_manager = std::function<std::chrono::system_clock::time_point()>;

//! [giia-publisher]
class auth_events {
 public:
  auth_events(const nc::jetstream& js, time_manager now) : publisher_{js, options()}, now_{std::move(now)} {}

  // Completes once AUTH_EVENTS has stored the event; retried 3 times (1 s, 2 s, 4 s) first.
  template <class Data>
  asio::awaitable<nc::pub_ack> publish(std::string type, std::string organization, const Data& data) {
    nc::event evt = nc::event::make(std::move(type), std::move(organization), data);
    evt.time = now_();
    evt.subject = user_of(data);  // the entity key, for ordering per user
    co_return co_await publisher_.publish(std::move(evt));
  }

 private:
  static nc::publisher_options options() {
    nc::publisher_options o;
    o.source = "auth-service";
    o.subject_prefix = "auth";  // "auth.user.login.succeeded"
    o.retry = nc::retry_policy{.max_attempts = 4,
                               .backoff = {std::chrono::seconds(1), std::chrono::seconds(2), std::chrono::seconds(4)}};
    return o;
  }
  static std::string user_of(const login_failed& d) { return d.email; }
  static std::string user_of(const role_assigned& d) { return d.user_id; }
  template <class Data>
  static std::string user_of(const Data& d) {
    return d.user_id;
  }
  nc::publisher publisher_;
  time_manager now_;
};
//! [giia-publisher]

asio::awaitable<int> auth_and_analytics(asio::any_io_executor ex, std::string url) {
  nc::connect_options copts;
  copts.servers = {url};
  copts.name = "auth-service";
  nc::connection conn = co_await nc::connect(ex, copts);
  nc::jetstream js{conn};
  co_await nc::apply_topology(js, nc::load_topology(NATSCORO_EXAMPLES_TOPOLOGIES "/giia.json"), false);

  auth_events auth{js, [] { return std::chrono::system_clock::now(); }};
  const std::string org = "org-7";
  co_await auth.publish("user.created", org, user_created{"u-1", "ada@example.com", "Ada", "L", "active"});
  co_await auth.publish("user.login.failed", org, login_failed{"ada@example.com", "invalid_password"});
  co_await auth.publish("user.login.succeeded", org, login_succeeded{"u-1", "ada@example.com"});
  co_await auth.publish("user.role.assigned", org, role_assigned{"u-1", "ada@example.com", "r-2", "planner"});
  co_await auth.publish("user.created", org, user_created{"u-2", "bob@example.com", "Bob", "K", "active"});
  co_await auth.publish("user.login.succeeded", org, login_succeeded{"u-2", "bob@example.com"});

  //! [giia-analytics]
  // Two instances of the analytics service, each with its own connection, on the
  // durable "analytics" of giia.json: each event goes to one of them at a time.
  std::map<std::string, int> counts;  // both runners' handlers run on this one thread
  int handled = 0;
  std::array<nc::consumer, 2> instances;
  auto done = [&] {
    if (++handled < 6) return;
    for (nc::consumer& c : instances) c.drain(asio::detached);
  };
  nc::event_router router(nc::unknown_event_policy::dead_letter);
  router.on<user_created>("user.created", [&](const user_created&, nc::message&) -> asio::awaitable<void> {
    ++counts["signups"];
    done();
    co_return;
  });
  router.on<login_succeeded>("user.login.succeeded",
                             [&](const login_succeeded&, nc::message&) -> asio::awaitable<void> {
                               ++counts["logins"];
                               done();
                               co_return;
                             });
  router.on<login_failed>("user.login.failed", [&](const login_failed& f, nc::message&) -> asio::awaitable<void> {
    ++counts["failed logins (" + f.reason + ")"];
    done();
    co_return;
  });
  router.on<role_assigned>("user.role.assigned", [&](const role_assigned& r, nc::message&) -> asio::awaitable<void> {
    ++counts["roles: " + r.role_name];
    done();
    co_return;
  });
  nc::run_options opts;
  opts.ordering_key = [](const nc::message& m) { return m.event().subject.value_or(""); };  // per user
  opts.dead_letter = nc::dead_letter_options{.stream = "DLQ_EVENTS", .subject_prefix = "dlq"};
  const nc::consumer_config analytics =
      nc::load_topology(NATSCORO_EXAMPLES_TOPOLOGIES "/giia.json").consumers.at(0).config;
  std::array<nc::connection, 2> links;
  for (std::size_t i = 0; i < 2; ++i) {
    links[i] = co_await nc::connect(ex, copts);
    instances[i] = co_await nc::jetstream{links[i]}.consumer("AUTH_EVENTS", analytics);
  }
  co_await (instances[0].run(router, opts, asio::use_awaitable) && instances[1].run(router, opts, asio::use_awaitable));
  //! [giia-analytics]

  for (const auto& [what, n] : counts) std::cout << what << ": " << n << "\n";
  std::cout << "instance 1 handled " << instances[0].run_stats().handled << ", instance 2 "
            << instances[1].run_stats().handled << "\n";
  for (nc::connection& link : links) co_await link.drain();
  co_await conn.drain();
  co_return handled == 6 ? 0 : 1;
}

int main(int argc, char** argv) {
  const std::string url = natscoro_examples::server_url(argc, argv);
  return natscoro_examples::run("seed 003 example",
                                [&](asio::any_io_executor ex) { return auth_and_analytics(ex, url); });
}
