#include <natscoro/connection.hpp>
#include <natscoro/detail/connection_core.hpp>
#include <natscoro/detail/last_handle.hpp>
#include <natscoro/detail/log_text.hpp>
#include <natscoro/detail/native_options.hpp>
#include <natscoro/detail/runtime.hpp>
#include <natscoro/logging.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/system_executor.hpp>

#include <algorithm>
#include <cstdlib>

namespace natscoro {

std::string_view to_string(connection_event_kind kind) noexcept {
  switch (kind) {
    case connection_event_kind::connected:
      return "connected";
    case connection_event_kind::disconnected:
      return "disconnected";
    case connection_event_kind::reconnected:
      return "reconnected";
    case connection_event_kind::closed:
      return "closed";
    case connection_event_kind::server_error:
      return "server error";
    case connection_event_kind::lame_duck:
      return "lame duck";
  }
  return "unknown";
}

namespace detail {
namespace {

constexpr int64_t close_flush_timeout_ms = 1000;
// flush_soon() waits this long for the PONG at most; the write itself is immediate.
constexpr int64_t flush_soon_timeout_ms = 100;
// After a flush that got no PONG in time (a stalled server), flush_soon() rests
// this long: it must not keep a thread of the shared blocking pool (which also
// connects and closes every connection) waiting on an unresponsive server.
constexpr auto flush_soon_rest = std::chrono::seconds(1);

// The server's URL without the password or token it may carry: it is shown in
// connection_info and connection events, which applications log.
std::string connected_url(natsConnection* nc) {
  char buffer[512] = {};
  return natsConnection_GetConnectedUrl(nc, buffer, sizeof buffer) == NATS_OK ? redact_credentials(buffer)
                                                                              : std::string();
}

}  // namespace

void async_connect(boost::asio::any_io_executor ex, connect_options opts,
                   boost::asio::any_completion_handler<void(error_code, connection)> handler) {
  auto op = connection_core::connect_operation::create(std::move(handler), ex);
  op->complete_on_cancel(boost::asio::error::operation_aborted, connection{});
  // The executor stays busy until the attempt is over, even when cancelled: an
  // established connection then reports its closing to it.
  auto core = std::make_shared<connection_core>(std::move(ex), std::move(opts));
  core->on_blocking_pool([op](connection_core& c) { c.connect_blocking(op); });
}

namespace {

// The strand the connection's state lives on: `ex` itself when it is a strand
// already (a second one would only add a scheduler pass to every call made on it).
boost::asio::any_io_executor serialized(boost::asio::any_io_executor ex) {
  using any_strand = boost::asio::strand<boost::asio::any_io_executor>;
  using io_strand = boost::asio::strand<boost::asio::io_context::executor_type>;  // see running_on()
  if (ex.target<any_strand>() != nullptr || ex.target<io_strand>() != nullptr) return ex;
  return boost::asio::make_strand(std::move(ex));
}

}  // namespace

connection_core::connection_core(boost::asio::any_io_executor ex, connect_options opts)
    : executor_(serialized(std::move(ex))), options_(std::move(opts)) {}

connection_core::~connection_core() {
  // Reached after the closed callback (or a failed connect): nothing blocks here.
  if (nc_ != nullptr) natsConnection_Destroy(nc_);
}

void connection_core::connect_blocking(const std::shared_ptr<connect_operation>& op) {
  if (!op->pending()) return;  // cancelled before it started
  native_callbacks callbacks{&on_disconnected, &on_reconnected, &on_closed, &on_lame_duck,
                             &on_error,        &on_connected,   this};
  auto native = make_native_options(options_, callbacks);
  if (native.error) {
    logger()->error("connect: {}", native.detail);
    op->fail(native.detail, native.error, connection{});
    return;
  }

  // From here nats.c may call back; the callbacks need this object alive until the closed one.
  self_ = shared_from_this();
  natsConnection* nc = nullptr;
  const natsStatus status = natsConnection_Connect(&nc, native.options.get());
  const bool degraded = status == NATS_NOT_YET_CONNECTED && options_.retry_on_failed_connect;
  if (status != NATS_OK && !degraded) {
    self_.reset();
    // nats.c parses the URLs only here, and says "invalid argument" about them.
    const error_code ec = (status == NATS_INVALID_ARG || status == NATS_ADDRESS_MISSING)
                              ? make_error_code(errc::invalid_url)
                              : nats_error(status);
    std::string servers;
    for (const auto& s : options_.servers) servers += (servers.empty() ? "" : ", ") + s;
    std::string text = "connect to " + servers + " failed: " + ec.message();
    if (const auto why = last_nats_error_text(); !why.empty()) text += " (" + why + ")";
    text = redact_credentials(text);
    logger()->error("{}", text);
    op->fail(std::move(text), ec, connection{});
    return;
  }

  nc_ = nc;
  wire_.attach(nc);
  work_ = boost::asio::prefer(executor_, boost::asio::execution::outstanding_work.tracked);
  if (degraded) {
    std::string servers;
    for (const auto& s : options_.servers) servers += (servers.empty() ? "" : ", ") + s;
    logger()->warn("no server answers yet ({}): connecting in the background (degraded start)", servers);
  } else {
    ever_connected_ = true;
    // A loss nats.c reports from here on moves the link down again (its callbacks follow the state).
    if (natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED)
      wire_.link_up(static_cast<std::size_t>(natsConnection_GetMaxPayload(nc_)));
    const std::string url = connected_url(nc_);
    {
      std::lock_guard lock(url_mutex_);  // nats.c's callbacks may already be running
      if (last_url_.empty()) last_url_ = url;
    }
    logger()->info("connected to {}{}", url, options_.name.empty() ? "" : " as " + options_.name);
  }

  connection conn(
      std::make_shared<last_handle<connection_core, &connection_core::close_in_background>>(shared_from_this()),
      shared_from_this());
  // If the connect was cancelled meanwhile, `conn` goes out of scope here and closes the connection.
  op->complete(error_code{}, std::move(conn));
}

connection_status connection_core::status() const {
  // From what nats.c's callbacks reported, not natsConnection_Status(): that
  // waits for nats.c's lock, which it holds through each reconnect attempt.
  if (closed_) return connection_status::closed;
  switch (wire_.state()) {
    case wire::link::closed:
      return connection_status::closed;
    case wire::link::down:
      return ever_connected_ ? connection_status::reconnecting : connection_status::connecting;
    case wire::link::up:
      return draining_ ? connection_status::draining : connection_status::connected;
  }
  return connection_status::closed;
}

server_info connection_core::info() const {
  server_info info;
  if (nc_ == nullptr) return info;
  info.connected_url = connected_url(nc_);
  char id[256] = {};
  if (natsConnection_GetConnectedServerId(nc_, id, sizeof id) == NATS_OK) info.server_id = id;
  info.max_payload = natsConnection_GetMaxPayload(nc_);
  natsConnection_GetClientID(nc_, &info.client_id);
  char* ip = nullptr;
  if (natsConnection_GetClientIP(nc_, &ip) == NATS_OK && ip != nullptr) {
    info.client_ip = ip;
    std::free(ip);
  }
  info.headers = natsConnection_HasHeaderSupport(nc_) == NATS_OK;
  return info;
}

void connection_core::drain(std::chrono::milliseconds timeout, std::shared_ptr<drain_operation> op) {
  {
    std::lock_guard lock(drain_mutex_);
    if (!closed_) {
      drains_.push_back(op);
      op.reset();
    }
  }
  if (op) {  // already closed: nothing to drain
    op->complete(error_code{});
    return;
  }
  close_requested_ = true;
  draining_ = true;
  on_blocking_pool([timeout](connection_core& self) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    if (!self.subscription_drains_->close_when_idle(deadline)) {
      // Draining now could free a subscription twice (subscription_drains.hpp): close.
      logger()->warn("drain: a subscription was still draining after {} ms; closing instead", timeout.count());
      {
        std::lock_guard lock(self.drain_mutex_);
        self.drain_error_ = make_error_code(nats_errc::timeout);
      }
      natsConnection_Close(self.nc_);
      return;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    const natsStatus s = natsConnection_DrainTimeout(self.nc_, std::max<std::int64_t>(left.count(), 1));
    if (s == NATS_OK || s == NATS_DRAINING || s == NATS_CONNECTION_CLOSED) return;  // the closed callback follows
    // Not drainable (e.g. disconnected): close it, and say so.
    logger()->warn("drain: {} ({}); closing instead", natsStatus_GetText(s), last_nats_error_text());
    {
      std::lock_guard lock(self.drain_mutex_);
      self.drain_error_ = make_error_code(errc::not_connected);
    }
    natsConnection_Close(self.nc_);
  });
}

void connection_core::flush_soon() {
  if (options_.send_asap || nc_ == nullptr || close_requested_) return;
  if (std::chrono::steady_clock::now().time_since_epoch().count() < flush_rest_until_.load())
    return;                                       // nats.c's flusher does it
  if (flush_requests_.fetch_add(1) != 0) return;  // the running task will flush again
  on_blocking_pool([](connection_core& self) {
    for (;;) {
      auto seen = self.flush_requests_.load();
      if (natsConnection_Status(self.nc_) == NATS_CONN_STATUS_CONNECTED &&
          natsConnection_FlushTimeout(self.nc_, flush_soon_timeout_ms) == NATS_TIMEOUT) {
        self.flush_rest_until_ = (std::chrono::steady_clock::now() + flush_soon_rest).time_since_epoch().count();
        self.flush_requests_ = 0;
        return;
      }
      if (self.flush_requests_.compare_exchange_strong(seen, 0)) return;  // nobody asked meanwhile
    }
  });
}

void connection_core::close_in_background() {
  if (nc_ == nullptr || close_requested_.exchange(true)) return;
  on_blocking_pool([](connection_core& self) {
    // nats.c's close may drop what was just written (nats.c #982): flush first.
    if (natsConnection_Status(self.nc_) == NATS_CONN_STATUS_CONNECTED)
      natsConnection_FlushTimeout(self.nc_, close_flush_timeout_ms);
    natsConnection_Close(self.nc_);
  });
}

// ---- nats.c callbacks: they run on nats.c's threads and only hand over ----

connection_event connection_core::describe(natsConnection* nc, connection_event_kind kind) {
  connection_event ev;
  ev.kind = kind;
  ev.server_url = connected_url(nc);
  // Once disconnected nats.c no longer names the server: report the last one.
  std::lock_guard lock(url_mutex_);
  if (ev.server_url.empty())
    ev.server_url = last_url_;
  else
    last_url_ = ev.server_url;
  return ev;
}

void connection_core::post_event(connection_event ev) {
  boost::asio::post(executor_, [self = shared_from_this(), ev = std::move(ev)] { self->handle_event(ev); });
}

void connection_core::on_disconnected(natsConnection* nc, void* closure) {
  auto* self = static_cast<connection_core*>(closure);
  self->wire_.link_lost();
  self->post_event(self->describe(nc, connection_event_kind::disconnected));
}

void connection_core::on_connected(natsConnection* nc, void* closure) {
  auto* self = static_cast<connection_core*>(closure);
  self->ever_connected_ = true;
  self->wire_.link_up(static_cast<std::size_t>(natsConnection_GetMaxPayload(nc)));
  self->post_event(self->describe(nc, connection_event_kind::connected));
}

void connection_core::on_reconnected(natsConnection* nc, void* closure) {
  auto* self = static_cast<connection_core*>(closure);
  self->wire_.link_up(static_cast<std::size_t>(natsConnection_GetMaxPayload(nc)));
  self->reconnects_.fetch_add(1, std::memory_order_relaxed);
  self->post_event(self->describe(nc, connection_event_kind::reconnected));
}

void connection_core::on_lame_duck(natsConnection* nc, void* closure) {
  auto* self = static_cast<connection_core*>(closure);
  self->post_event(self->describe(nc, connection_event_kind::lame_duck));
}

void connection_core::on_error(natsConnection* nc, natsSubscription*, natsStatus status, void* closure) {
  auto* self = static_cast<connection_core*>(closure);
  auto ev = self->describe(nc, connection_event_kind::server_error);
  ev.error = nats_error(status);
  // The server's text ('Permissions Violation for Publish to "x"'; the publisher
  // needs the subject). natsConnection_GetLastError() hands out the connection's
  // error buffer, which nats.c rewrites under a lock this side cannot take when
  // the next -ERR arrives: a burst of errors can tear the copied text (see tests/tsan.supp).
  const char* text = nullptr;
  if (natsConnection_GetLastError(nc, &text) != NATS_OK && text != nullptr) ev.detail = text;
  self->post_event(std::move(ev));
}

void connection_core::on_closed(natsConnection* nc, void* closure) {
  auto* self = static_cast<connection_core*>(closure);
  self->wire_.closed();
  auto ev = self->describe(nc, connection_event_kind::closed);
  const char* text = nullptr;
  const natsStatus last = natsConnection_GetLastError(nc, &text);
  if (!self->close_requested_ && last != NATS_OK) {  // reconnecting gave up
    ev.error = make_error_code(errc::not_connected);
    ev.detail = text != nullptr ? text : natsStatus_GetText(last);
  } else if (last == NATS_TIMEOUT) {  // a drain that ran out of time
    ev.error = nats_error(last);
    ev.detail = "drain timed out";
  }
  // nats.c calls nothing after this: from here the executor holds the last internal reference.
  auto keep = std::move(self->self_);
  // The handler may run, and the executor's owner finish, before post() returns
  // here: the executor is released only after post() is done with its copies.
  auto work = std::move(self->work_);
  boost::asio::post(work, [keep = std::move(keep), ev = std::move(ev)]() mutable {
    keep->handle_closed(std::move(ev));
    keep.reset();
  });
}

// ---- on the executor ----

void connection_core::handle_event(const connection_event& ev) {
  auto log = logger();
  switch (ev.kind) {
    case connection_event_kind::disconnected:
      // Closing also disconnects; only an unexpected loss is worth a warning.
      if (close_requested_) {
        log->debug("disconnected from {} (closing)", ev.server_url);
        return;  // part of the close the application asked for, not news to it
      }
      log->warn("disconnected from {}; reconnecting", ev.server_url);
      break;
    case connection_event_kind::connected:
      log->info("connected to {}{}", ev.server_url, options_.name.empty() ? "" : " as " + options_.name);
      break;
    case connection_event_kind::reconnected:
      log->info("reconnected to {}", ev.server_url);
      break;
    case connection_event_kind::lame_duck:
      log->warn("server {} entered lame duck mode", ev.server_url);
      break;
    case connection_event_kind::server_error:
      log->error("asynchronous error from {}: {} {}", ev.server_url, ev.error.message(), ev.detail);
      break;
    case connection_event_kind::closed:
      if (ev.error)
        log->error("connection closed: {} ({})", ev.error.message(), ev.detail);
      else
        log->info("connection closed");
      break;
  }
  if (options_.on_event) options_.on_event(ev);
  std::map<std::uint64_t, listener> listeners;  // a copy: a listener may remove itself
  {
    std::lock_guard lock(listeners_mutex_);
    listeners = listeners_;
  }
  for (const auto& [id, l] : listeners) l(ev);
}

std::uint64_t connection_core::add_listener(listener l) {
  std::lock_guard lock(listeners_mutex_);
  const auto id = next_listener_++;
  listeners_.emplace(id, std::move(l));
  return id;
}

void connection_core::remove_listener(std::uint64_t id) {
  std::lock_guard lock(listeners_mutex_);
  listeners_.erase(id);
}

void connection_core::handle_closed(connection_event ev) {
  std::vector<std::shared_ptr<drain_operation>> drains;
  error_code drain_error;
  {
    std::lock_guard lock(drain_mutex_);
    closed_ = true;
    drains.swap(drains_);
    drain_error = drain_error_ ? drain_error_ : ev.error;
  }
  handle_event(ev);
  for (auto& op : drains) op->complete(drain_error);
}

}  // namespace detail

// ---- connection ----

connection::executor_type connection::get_executor() const {
  return core_ ? core_->executor() : executor_type(boost::asio::system_executor());
}

connection_status connection::status() const { return core_ ? core_->status() : connection_status::closed; }

server_info connection::info() const { return core_ ? core_->info() : server_info{}; }

void connection::close() {
  if (core_) core_->close_in_background();
}

__natsConnection* connection::native_handle() const { return core_ ? core_->native() : nullptr; }

void connection::async_drain(std::shared_ptr<detail::connection_core> core, std::chrono::milliseconds timeout,
                             boost::asio::any_completion_handler<void(error_code)> handler) {
  if (!core) {
    auto op = detail::connection_core::drain_operation::create(std::move(handler), boost::asio::system_executor());
    op->complete(make_error_code(errc::not_connected));
    return;
  }
  auto op = detail::connection_core::drain_operation::create(std::move(handler), core->executor());
  op->complete_on_terminal_cancel();
  core->drain(timeout, std::move(op));
}

}  // namespace natscoro
