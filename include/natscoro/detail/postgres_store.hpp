// The PostgreSQL table of a transactional outbox (natscoro_outbox, created by
// sql/natscoro_outbox.postgresql.sql). Claims lock their rows (FOR UPDATE SKIP
// LOCKED) until settled, so several relays share one table. Blocking libpq
// calls: the outbox uses it from its own thread only.
#pragma once

#include <natscoro/detail/outbox_store.hpp>

#include <memory>
#include <string>
#include <string_view>

struct pg_conn;

namespace natscoro::detail {

/// The schema file's text, as shipped (sql/natscoro_outbox.postgresql.sql).
std::string_view postgres_outbox_schema();
/// The schema version this library reads and writes.
inline constexpr int postgres_outbox_schema_version = 1;
/// The channel the table's trigger notifies.
inline constexpr const char* postgres_outbox_channel = "natscoro_outbox";

/// A libpq connection, finished when it goes.
struct pg_conn_deleter {
  void operator()(pg_conn* c) const;
};
using pg_conn_ptr = std::unique_ptr<pg_conn, pg_conn_deleter>;

/// Connects (blocking, bounded by connect_timeout, 10 s unless `conninfo` says
/// otherwise). errc::database_unavailable with libpq's reason in `detail`.
pg_conn_ptr connect_postgres(const std::string& conninfo, error_code& ec, std::string& detail);

class postgres_store final : public outbox_store {
 public:
  /// Connects, applies the schema when `create_schema`, and checks its version.
  static std::unique_ptr<postgres_store> open(std::string conninfo, bool create_schema, error_code& ec,
                                              std::string& detail);
  error_code append(std::vector<outbox_record>& records, std::string& detail) override;
  error_code claim(std::size_t limit, std::vector<outbox_record>& out, std::string& detail) override;
  bool reads_ahead() const override { return false; }
  error_code settle(const std::vector<std::int64_t>& relayed, const std::vector<refused_record>& refused,
                    const std::vector<std::int64_t>& failed, std::int64_t& oldest_created_ns,
                    std::string& detail) override;
  error_code summarize(outbox_summary& out, std::string& detail) override;

 private:
  postgres_store(std::string conninfo, pg_conn_ptr conn) : conninfo_(std::move(conninfo)), conn_(std::move(conn)) {}
  /// Connects again if the connection was lost (the server restarted, say).
  error_code reconnect_if_lost(std::string& detail);
  error_code oldest(std::int64_t& created_ns, std::string& detail);

  std::string conninfo_;
  pg_conn_ptr conn_;
  bool in_claim_ = false;  // a claim's transaction is open
};

}  // namespace natscoro::detail
