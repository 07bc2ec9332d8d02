#include <natscoro/detail/outbox_core.hpp>
#include <natscoro/detail/postgres_store.hpp>
#include <natscoro/detail/prepared_publish.hpp>
#include <natscoro/logging.hpp>
#include <natscoro/postgres_outbox.hpp>

#include <boost/asio/posix/stream_descriptor.hpp>

#include <libpq-fe.h>

namespace natscoro {
namespace detail {
namespace {

namespace asio = boost::asio;

// The LISTEN connection, watched on the executor: a notification (a transaction
// that wrote outbox rows committed) wakes the relay at once. Connecting happens
// on the outbox's thread (it blocks); reading notifications never blocks
// (PQconsumeInput reads what the socket holds). When the connection is lost the
// relay's polling covers the gap until it is back.
class postgres_listener : public std::enable_shared_from_this<postgres_listener> {
 public:
  postgres_listener(std::weak_ptr<outbox_core> core, std::string conninfo, asio::any_io_executor ex)
      : core_(std::move(core)), conninfo_(std::move(conninfo)), socket_(ex), retry_(ex) {}

  void start() {
    auto core = core_.lock();
    if (!core || stopped_) return;
    struct connected {
      pg_conn_ptr conn;
      std::string detail;
    };
    core->on_store_thread(
        [conninfo = conninfo_]() {
          connected c;
          error_code ec;
          c.conn = connect_postgres(conninfo, ec, c.detail);
          if (c.conn) {
            const std::string listen = std::string("LISTEN ") + postgres_outbox_channel;
            PGresult* r = PQexec(c.conn.get(), listen.c_str());
            if (PQresultStatus(r) != PGRES_COMMAND_OK) {
              c.detail = std::string("LISTEN failed: ") + PQresultErrorMessage(r);
              c.conn.reset();
            }
            PQclear(r);
          }
          return c;
        },
        [self = shared_from_this()](connected c) {
          if (self->stopped_) return;
          if (!c.conn) {
            logger()->warn("outbox: not listening for notifications ({}); polling until it can", c.detail);
            return self->retry_later();
          }
          self->conn_ = std::move(c.conn);
          PQsetnonblocking(self->conn_.get(), 1);
          self->socket_.assign(PQsocket(self->conn_.get()));
          if (auto core = self->core_.lock()) core->wake();  // rows committed while nobody listened
          self->wait();
        });
  }

  void stop() {
    stopped_ = true;
    retry_.cancel();
    drop();
  }

 private:
  void wait() {
    socket_.async_wait(asio::posix::stream_descriptor::wait_read, [self = shared_from_this()](error_code ec) {
      if (ec || self->stopped_) return;
      self->on_readable();
    });
  }

  void on_readable() {
    if (PQconsumeInput(conn_.get()) == 0) {
      logger()->warn("outbox: the listening connection to PostgreSQL was lost: {}", PQerrorMessage(conn_.get()));
      drop();
      return retry_later();
    }
    bool notified = false;
    while (PGnotify* n = PQnotifies(conn_.get())) {
      notified = true;
      PQfreemem(n);
    }
    if (notified)
      if (auto core = core_.lock()) core->wake();
    wait();
  }

  void drop() {
    if (socket_.is_open()) {
      socket_.cancel();
      socket_.release();  // the descriptor is libpq's
    }
    conn_.reset();
  }

  void retry_later() {
    retry_.expires_after(std::chrono::seconds(1));
    retry_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->start();
    });
  }

  std::weak_ptr<outbox_core> core_;
  std::string conninfo_;
  pg_conn_ptr conn_;
  asio::posix::stream_descriptor socket_;
  asio::steady_timer retry_;
  bool stopped_ = false;
};

}  // namespace
}  // namespace detail

std::string_view postgres_outbox::schema_sql() { return detail::postgres_outbox_schema(); }

void postgres_outbox::async_open(const jetstream& js, postgres_outbox_options opts,
                                 boost::asio::any_completion_handler<void(error_code, postgres_outbox)> handler) {
  auto op = detail::pending_operation<void(error_code, postgres_outbox)>::create(std::move(handler), js.get_executor());
  op->complete_on_terminal_cancel();
  if (opts.poll_interval.count() <= 0) {
    logger()->error("postgres_outbox: poll_interval must be positive");
    return void(op->complete(make_error_code(errc::invalid_argument), {}));
  }
  detail::outbox_core::settings s{"natscoro_outbox (PostgreSQL)", opts, 0, opts.poll_interval};
  auto core = std::make_shared<detail::outbox_core>(
      js, std::move(s), [conninfo = opts.conninfo, create = opts.create_schema](error_code& ec, std::string& detail) {
        return std::unique_ptr<detail::outbox_store>(detail::postgres_store::open(conninfo, create, ec, detail));
      });
  core->open([op, core, conninfo = opts.conninfo](error_code ec) {
    if (ec) return void(op->complete(ec, {}));
    auto listener = std::make_shared<detail::postgres_listener>(core, conninfo, core->get_executor());
    core->on_stop([listener] { listener->stop(); });
    listener->start();
    op->complete({}, postgres_outbox(core));
  });
}

postgres_outbox_row postgres_outbox::row(std::string subject, event evt) const {
  if (!core()) throw error(make_error_code(errc::invalid_argument), "postgres_outbox: not opened");
  const auto prepared = core()->prepare(std::move(subject), std::move(evt));
  if (prepared->error) throw error(prepared->error, prepared->detail);
  return {prepared->event_id, prepared->subject, detail::format_headers(prepared->encoded.headers),
          prepared->encoded.body};
}

void postgres_outbox::stage(pg_conn* conn, std::string subject, event evt) const {
  const auto r = row(std::move(subject), std::move(evt));
  const char* values[] = {r.event_id.data(), r.subject.data(), r.headers.data(), r.body.data()};
  const int lengths[] = {static_cast<int>(r.event_id.size()), static_cast<int>(r.subject.size()),
                         static_cast<int>(r.headers.size()), static_cast<int>(r.body.size())};
  const int formats[] = {1, 1, 1, 1};
  const std::string sql(insert_sql);
  PGresult* result = PQexecParams(conn, sql.c_str(), 4, nullptr, values, lengths, formats, 0);
  const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
  std::string message = result ? PQresultErrorMessage(result) : PQerrorMessage(conn);
  PQclear(result);
  if (ok) return;
  while (!message.empty() && message.back() == '\n') message.pop_back();
  const bool lost = PQstatus(conn) != CONNECTION_OK;
  throw error(make_error_code(lost ? errc::database_unavailable : errc::database_error),
              "event " + r.event_id + " not staged: " + message);
}

}  // namespace natscoro
