// A real PostgreSQL server for integration tests: initdb in a temporary
// directory, started with pg_ctl on a free loopback port. PostgreSQL refuses to
// run as root, so under root its commands run as the user "nobody".
#pragma once

#include "nats_server.hpp"

#include <string>

struct pg_conn;

namespace natscoro::test {

class postgres_server {
 public:
  postgres_server();
  ~postgres_server();
  postgres_server(const postgres_server&) = delete;
  postgres_server& operator=(const postgres_server&) = delete;

  /// "host=127.0.0.1 port=P user=postgres dbname=postgres".
  std::string conninfo() const;
  int port() const noexcept { return port_; }

  /// Starts it (same port and data as before) and waits until it accepts connections.
  void start();
  /// pg_ctl stop -m immediate: the server goes at once, as in a crash.
  void kill();

 private:
  void run(std::vector<std::string> args) const;

  temp_dir dir_;
  std::string bin_;
  int port_;
  bool running_ = false;
};

/// A libpq connection for the test's own statements (its "business transactions").
class pg_session {
 public:
  explicit pg_session(const std::string& conninfo);
  ~pg_session();
  pg_session(const pg_session&) = delete;
  pg_session& operator=(const pg_session&) = delete;
  pg_conn* get() const noexcept { return conn_; }
  /// Runs `sql` (no parameters); throws std::runtime_error with the server's message.
  void exec(const std::string& sql);
  /// The first column of the first row of `sql`, as text.
  std::string scalar(const std::string& sql);
  /// The first column of every row of `sql`, as text.
  std::vector<std::string> column(const std::string& sql);

 private:
  pg_conn* conn_;
};

}  // namespace natscoro::test
