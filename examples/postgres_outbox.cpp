// The transactional outbox (seed 001, "Option 4"): the AML platform stores a
// transaction and its "aml.transaction.ingested" event in one PostgreSQL
// transaction; a relay publishes the event once, and only if that commits.
//
//   natscoro_postgres_outbox [NATS_URL [CONNINFO]]
//     (defaults: $NATS_URL, else nats://127.0.0.1:4222; $PG_CONNINFO, else libpq's PG* variables)
//
// Records 100 transactions (each with its event) and one that is rejected and
// rolled back (no event), waits until the relay has published the 100, and
// prints the outbox's counters.
#include <natscoro/natscoro.hpp>
#include <natscoro/postgres_outbox.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <libpq-fe.h>

#include <cstdlib>
#include <iostream>
#include <stdexcept>

namespace asio = boost::asio;
namespace nc = natscoro;

namespace {

void exec(PGconn* db, const char* sql) {
  PGresult* r = PQexec(db, sql);
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  const std::string why = PQresultErrorMessage(r);
  PQclear(r);
  if (!ok) throw std::runtime_error(std::string(sql) + ": " + why);
}

//! [pg-stage]
// The service's own code: blocking libpq, on a thread of its own (never the
// executor's). The business row and the event commit together, or neither does.
void record_transaction(PGconn* db, const nc::postgres_outbox& ob, int id, long amount_cents) {
  exec(db, "BEGIN");
  try {
    const std::string row = "INSERT INTO aml_transactions (id, account, amount_cents) VALUES (" + std::to_string(id) +
                            ", 'acct-" + std::to_string(id % 7) + "', " + std::to_string(amount_cents) + ")";
    exec(db, row.c_str());  // the CHECK constraint rejects a negative amount
    auto evt = nc::event::make("aml.transaction.ingested", "bank-1",
                               boost::json::object{{"transaction_id", id}, {"amount_cents", amount_cents}});
    ob.stage(db, "aml.transaction.ingested", std::move(evt));  // same transaction
    exec(db, "COMMIT");
  } catch (...) {
    exec(db, "ROLLBACK");  // nothing recorded, nothing published
    throw;
  }
}
//! [pg-stage]

}  // namespace

asio::awaitable<void> service(asio::any_io_executor ex, std::string url, std::string conninfo) {
  nc::connect_options copts;
  copts.servers = {url};
  nc::connection conn = co_await nc::connect(ex, copts);
  nc::jetstream js{conn};
  nc::stream_config aml;
  aml.name = "AML";
  aml.subjects = {"aml.>"};
  co_await js.ensure_stream(aml);

  //! [pg-open]
  nc::postgres_outbox_options opts;
  opts.conninfo = conninfo;  // the relay's own connections; applies the schema (sql/)
  opts.publish.source = "aml-api";
  nc::postgres_outbox ob = co_await nc::postgres_outbox::open(js, opts);
  //! [pg-open]

  asio::thread_pool blocking(1);  // where the service's libpq calls run
  const int recorded = co_await asio::co_spawn(
      blocking,
      [&]() -> asio::awaitable<int> {
        PGconn* db = PQconnectdb(conninfo.c_str());
        if (PQstatus(db) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(db));
        exec(db,
             "CREATE TABLE IF NOT EXISTS aml_transactions ("
             "id integer PRIMARY KEY, account text NOT NULL, amount_cents bigint NOT NULL CHECK (amount_cents > 0))");
        exec(db, "TRUNCATE aml_transactions");
        int ok = 0;
        for (int id = 1; id <= 101; ++id) {
          try {
            record_transaction(db, ob, id, id == 50 ? -500 : 1000 * id);
            ++ok;
          } catch (const std::exception& e) {
            std::cout << "transaction " << id << " rejected, no event: " << e.what();
          }
        }
        PQfinish(db);
        co_return ok;
      },
      asio::use_awaitable);

  asio::steady_timer tick(ex);
  while (ob.stats().relayed < static_cast<std::uint64_t>(recorded)) {
    tick.expires_after(std::chrono::milliseconds(50));
    co_await tick.async_wait(asio::use_awaitable);
  }
  const nc::outbox_stats s = ob.stats();
  std::cout << "recorded " << recorded << " transactions; relayed " << s.relayed << " events; pending " << s.pending
            << "\n";
  co_await ob.close();
  co_await conn.drain();
}

int main(int argc, char** argv) {
  const char* env = std::getenv("NATS_URL");
  const char* pg = std::getenv("PG_CONNINFO");
  const std::string url = argc > 1 ? argv[1] : (env != nullptr && *env != '\0' ? env : "nats://127.0.0.1:4222");
  const std::string conninfo = argc > 2 ? argv[2] : (pg != nullptr ? pg : "");
  asio::io_context ioc;
  int status = 0;
  asio::co_spawn(ioc, service(ioc.get_executor(), url, conninfo), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::cerr << "postgres outbox example failed: " << ex.what() << "\n";
      status = 1;
    }
  });
  ioc.run();
  return status;
}
