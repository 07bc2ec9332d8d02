#include <natscoro/detail/access.hpp>
#include <natscoro/detail/api_client.hpp>
#include <natscoro/logging.hpp>
#include <natscoro/metrics_server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <mutex>
#include <set>

namespace natscoro {

namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

struct metrics_server::state : std::enable_shared_from_this<state> {
  state(boost::asio::any_io_executor ex, std::shared_ptr<const metrics> m, health_options h)
      : executor(std::move(ex)), acceptor(executor), registry(std::move(m)), health(std::move(h)) {}

  boost::asio::any_io_executor executor;
  tcp::acceptor acceptor;
  std::shared_ptr<const metrics> registry;
  health_options health;
  std::mutex sessions_mutex;  // stop() may come from another thread
  std::set<std::shared_ptr<boost::beast::tcp_stream>> sessions;

  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(std::shared_ptr<boost::beast::tcp_stream> stream);
  boost::asio::awaitable<http::response<http::string_body>> answer(const http::request<http::string_body>& req);
  /// Whether JetStream answers through the probe (nullopt: it does), else why not.
  boost::asio::awaitable<std::optional<std::string>> probe_jetstream();
};

boost::asio::awaitable<void> metrics_server::state::accept_loop() {
  auto self = shared_from_this();
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec == boost::asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      logger()->warn("metrics server: accept failed: {}", ec.message());
      continue;
    }
    auto stream = std::make_shared<boost::beast::tcp_stream>(std::move(socket));
    {
      std::lock_guard lock(sessions_mutex);
      sessions.insert(stream);
    }
    boost::asio::co_spawn(executor, serve(stream), boost::asio::detached);
  }
}

boost::asio::awaitable<void> metrics_server::state::serve(std::shared_ptr<boost::beast::tcp_stream> stream) {
  auto self = shared_from_this();
  boost::beast::flat_buffer buffer(8192);  // a request larger than this is refused by Beast
  http::request<http::string_body> req;
  stream->expires_after(std::chrono::seconds(10));  // a client that sends nothing does not hold a socket
  auto [ec, n] = co_await http::async_read(*stream, buffer, req, boost::asio::as_tuple(boost::asio::use_awaitable));
  if (!ec) {
    auto res = co_await answer(req);
    res.keep_alive(false);
    res.prepare_payload();
    co_await http::async_write(*stream, res, boost::asio::as_tuple(boost::asio::use_awaitable));
  }
  boost::system::error_code ignored;
  stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
  std::lock_guard lock(sessions_mutex);
  sessions.erase(stream);
}

boost::asio::awaitable<std::optional<std::string>> metrics_server::state::probe_jetstream() {
  if (!health.probe) co_return std::nullopt;
  auto token = boost::asio::as_tuple(boost::asio::use_awaitable);
  auto [ec, reply] = co_await boost::asio::async_initiate<decltype(token), void(error_code, boost::json::value)>(
      [](auto handler, std::shared_ptr<detail::api_client> api) {
        api->request("INFO", {}, "", [handler = std::move(handler)](error_code ec, boost::json::value v) mutable {
          std::move(handler)(ec, std::move(v));
        });
      },
      token, detail::access::api(*health.probe));
  if (ec) co_return "JetStream does not answer: " + ec.message();
  co_return std::nullopt;
}

boost::asio::awaitable<http::response<http::string_body>> metrics_server::state::answer(
    const http::request<http::string_body>& req) {
  http::response<http::string_body> res{http::status::ok, req.version()};
  res.set(http::field::server, "natscoro");
  const auto target = req.target();
  const auto path = target.substr(0, target.find('?'));
  if (path != "/metrics" && path != "/healthz") {
    res.result(http::status::not_found);
    res.set(http::field::content_type, "text/plain");
    res.body() = "not found: /metrics and /healthz are served here\n";
    co_return res;
  }
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    res.result(http::status::method_not_allowed);
    res.set(http::field::allow, "GET, HEAD");
    co_return res;
  }
  res.set(http::field::content_type, path == "/metrics" ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain");
  if (path == "/metrics") {
    res.body() = registry->exposition();
  } else {
    auto problems = registry->problems(health.max_outbox_age);
    if (auto js = co_await probe_jetstream()) problems.push_back(std::move(*js));
    if (problems.empty()) {
      res.body() = "ok\n";
    } else {
      res.result(http::status::service_unavailable);
      for (const auto& p : problems) res.body() += p + "\n";
    }
  }
  if (req.method() == http::verb::head) res.body().clear();
  co_return res;
}

metrics_server::metrics_server(boost::asio::any_io_executor ex, std::shared_ptr<const metrics> m,
                               const tcp::endpoint& endpoint, health_options health)
    : state_(std::make_shared<state>(std::move(ex), std::move(m), std::move(health))) {
  auto& a = state_->acceptor;
  a.open(endpoint.protocol());
  a.set_option(tcp::acceptor::reuse_address(true));
  a.bind(endpoint);
  a.listen();
  boost::asio::co_spawn(state_->executor, state_->accept_loop(), boost::asio::detached);
}

metrics_server::~metrics_server() { stop(); }

tcp::endpoint metrics_server::local_endpoint() const { return state_->acceptor.local_endpoint(); }

void metrics_server::stop() {
  // On the executor: the acceptor and the streams are used there.
  boost::asio::dispatch(state_->executor, [s = state_] {
    boost::system::error_code ignored;
    s->acceptor.close(ignored);
    std::lock_guard lock(s->sessions_mutex);
    for (const auto& stream : s->sessions) stream->socket().close(ignored);
  });
}

}  // namespace natscoro
