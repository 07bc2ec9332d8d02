// A service writing business rows and their events in one PostgreSQL transaction
// each (seed 001's pattern), with the relay in the same process, for the kill -9 test.
//
//   postgres_outbox_child NATS_URL CONNINFO COUNT
//
// Inserts COUNT orders, 10 per transaction, each with its event staged in the
// same transaction, and prints "committed <event id>" for each once its
// transaction committed, then "done". The test kills it on the way.
#include <natscoro/natscoro.hpp>
#include <natscoro/postgres_outbox.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <libpq-fe.h>

#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace nc = natscoro;

namespace {

bool exec(PGconn* c, const char* sql) {
  PGresult* r = PQexec(c, sql);
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  if (!ok) std::cerr << sql << ": " << PQresultErrorMessage(r);
  PQclear(r);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  const std::string url = argv[1], conninfo = argv[2];
  const int count = std::stoi(argv[3]);
  nc::logger()->set_level(spdlog::level::err);
  asio::io_context ioc;
  auto work = asio::make_work_guard(ioc);
  std::thread io([&] { ioc.run(); });
  try {
    auto opened = asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<std::pair<nc::connection, nc::postgres_outbox>> {
          nc::connect_options copts;
          copts.servers = {url};
          auto conn = co_await nc::connect(ioc.get_executor(), copts);
          nc::postgres_outbox_options opts;
          opts.conninfo = conninfo;
          opts.publish.source = "postgres-outbox-child";
          auto ob = co_await nc::postgres_outbox::open(nc::jetstream{conn}, opts);
          co_return std::make_pair(conn, ob);
        },
        asio::use_future);
    auto [conn, ob] = opened.get();

    PGconn* db = PQconnectdb(conninfo.c_str());
    if (PQstatus(db) != CONNECTION_OK || !exec(db, "CREATE TABLE IF NOT EXISTS orders (id text PRIMARY KEY)")) return 1;
    for (int i = 0; i < count; i += 10) {
      if (!exec(db, "BEGIN")) return 1;
      std::vector<std::string> ids;
      for (int j = i; j < std::min(count, i + 10); ++j) {
        auto evt = nc::event::make("outbox.ordered", "org-1");
        const std::string order = "INSERT INTO orders (id) VALUES ('" + evt.id + "')";
        if (!exec(db, order.c_str())) return 1;
        ids.push_back(evt.id);
        ob.stage(db, "outbox.ordered", std::move(evt));
      }
      if (!exec(db, "COMMIT")) return 1;
      for (const auto& id : ids) std::cout << "committed " << id << '\n';
      std::cout << std::flush;
    }
    PQfinish(db);
    std::cout << "done" << std::endl;
    asio::co_spawn(
        ioc,
        [ob = std::move(ob), conn = std::move(conn)]() mutable -> asio::awaitable<void> {
          co_await ob.close();
          co_await conn.drain();
        },
        asio::use_future)
        .get();
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    work.reset();
    ioc.stop();
    io.join();
    return 1;
  }
  work.reset();
  io.join();
  return 0;
}
