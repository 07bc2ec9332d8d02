// The transactional outbox on PostgreSQL: an event is written in the same
// transaction as the business data it belongs to, and a relay publishes it to
// JetStream once that transaction commits. Link natscoro::postgres.
#pragma once

#include <natscoro/diagnostics.hpp>
#include <natscoro/outbox.hpp>

#include <string_view>

struct pg_conn;

namespace natscoro {

struct postgres_outbox_options : outbox_relay_options {
  /// The relay's database: a libpq connection string or URI
  /// ("host=db dbname=aml user=relay", "postgresql://relay@db/aml"). The relay
  /// keeps two connections: one claims and removes rows, one LISTENs.
  std::string conninfo;
  /// Applies the shipped schema at open (idempotent; safe with several relays).
  /// Off: the schema must be there already (a migration tool ran the file).
  bool create_schema = true;
  /// How often the relay looks for rows when no notification came (a NOTIFY is
  /// lost while the listening connection is down), and re-reads the pending count.
  std::chrono::milliseconds poll_interval{1000};
};

/// What postgres_outbox::stage() inserts, for callers that use another driver
/// (libpqxx, an ORM): run postgres_outbox::insert_sql with these four parameters.
struct postgres_outbox_row {
  std::string event_id;
  std::string subject;
  std::string headers;  ///< a NATS header block (bytea)
  std::string body;     ///< the encoded event (bytea)
};

/// A relay over the natscoro_outbox table, publishing through its own publisher
/// on `js`. Several relays (processes) may serve one table: each row is claimed
/// by one (FOR UPDATE SKIP LOCKED). Rows go in seq order within a relay; with
/// several relays, or transactions committing out of seq order, order across
/// rows is not guaranteed (keep per-entity order with max_ack_pending 1, or one
/// relay).
class postgres_outbox : public detail::outbox_handle {
 public:
  /// The statement stage() runs; $1..$4 = event_id, subject, headers, body.
  static constexpr std::string_view insert_sql =
      "INSERT INTO natscoro_outbox (event_id, subject, headers, body) VALUES ($1, $2, $3, $4)";
  /// The schema (sql/natscoro_outbox.postgresql.sql), for a migration tool.
  static std::string_view schema_sql();

  /// Connects, applies the schema (create_schema), starts listening and relaying.
  /// Waits for: the connections and the schema, on the outbox's own thread.
  /// Completion: `void(error_code, postgres_outbox)`.
  /// Errors: errc::database_unavailable (PostgreSQL cannot be reached),
  ///   errc::database_error (the schema cannot be applied, or has another version),
  ///   errc::invalid_argument (the connection string is not valid); the log says why.
  /// Cancellation: terminal only: completes with operation_aborted at once; an outbox
  ///   opened afterwards is closed. Partial and total are ignored.
  template <class CompletionToken = natscoro::default_token_t>
  static auto open(const jetstream& js, postgres_outbox_options opts, CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(error_code, postgres_outbox)>(
        [](auto handler, jetstream j, postgres_outbox_options o) { async_open(j, std::move(o), std::move(handler)); },
        token, js, std::move(opts));
  }

  postgres_outbox() = default;

  /// The row for `evt` on `subject` (empty: publish.subject_prefix + "." + type),
  /// filled and validated as publisher::publish() does. Any thread.
  /// Throws natscoro::error: errc::invalid_event, errc::invalid_subject.
  postgres_outbox_row row(std::string subject, event evt) const;

  /// Inserts `evt` into the outbox table on `conn`, the caller's connection, inside
  /// the caller's open transaction: it is published if and only if that
  /// transaction commits. Blocks like any libpq call on `conn` (one round trip);
  /// call it where the transaction runs. Any thread.
  /// Throws natscoro::error: errc::invalid_event, errc::invalid_subject (nothing
  /// sent); errc::database_error (PostgreSQL refused the INSERT: its message is in
  /// what(); the transaction is then aborted) or errc::database_unavailable.
  void stage(pg_conn* conn, std::string subject, event evt) const;
  void stage(pg_conn* conn, event evt) const { stage(conn, std::string(), std::move(evt)); }

  // publish(), close() and stats() are outbox_handle's. stats(): pending,
  // pending_bytes and oldest_pending_age count every relay's rows (read from the
  // table every poll_interval); the others count this relay's work.

 private:
  explicit postgres_outbox(std::shared_ptr<detail::outbox_core> core) : outbox_handle(std::move(core)) {}
  static void async_open(const jetstream& js, postgres_outbox_options opts,
                         boost::asio::any_completion_handler<void(error_code, postgres_outbox)> handler);
};

}  // namespace natscoro
