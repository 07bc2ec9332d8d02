// The SQLite file of an outbox: events appended in group commits, read back in
// order, removed once relayed. Synchronous; the outbox uses it from its own thread
// only (never an executor's: a commit waits for fsync).
#pragma once

#include <natscoro/detail/envelope_codec.hpp>
#include <natscoro/error.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct sqlite3;

namespace natscoro::detail {

class sqlite_spool {
 public:
  struct record {
    std::int64_t seq = 0;  ///< assigned by append(); the relay's order
    std::string id;        ///< the event id: the Nats-Msg-Id it is published with
    std::string subject;
    header_list headers;
    std::string body;
    std::int64_t created_ns = 0;  ///< when it was stored (system clock)
    std::size_t size() const;     ///< what it counts against the quota
  };
  struct summary {
    std::uint64_t count = 0;
    std::uint64_t bytes = 0;
    std::int64_t oldest_created_ns = 0;  ///< 0 when empty
  };

  /// Opens or creates `path`: WAL, synchronous FULL (or NORMAL), the schema, and a
  /// quick_check. errc::outbox_corrupt (not a database, or damaged) or
  /// errc::invalid_argument (cannot be opened or created), with `detail`.
  static std::unique_ptr<sqlite_spool> open(const std::string& path, bool synchronous_full, error_code& ec,
                                            std::string& detail);
  ~sqlite_spool();
  sqlite_spool(const sqlite_spool&) = delete;
  sqlite_spool& operator=(const sqlite_spool&) = delete;

  /// Appends every record in one transaction (one fsync) and assigns their seqs.
  error_code append(std::vector<record>& records, std::string& detail);
  /// At most `limit` records with seq > `after`, oldest first.
  error_code read(std::int64_t after, std::size_t limit, std::vector<record>& out, std::string& detail);
  /// Removes the records of these seqs, in one transaction.
  error_code remove(const std::vector<std::int64_t>& seqs, std::string& detail);
  error_code summarize(summary& out, std::string& detail);
  /// When the oldest record was stored (0 when there is none); by the primary key, cheap.
  error_code oldest(std::int64_t& created_ns, std::string& detail);

 private:
  explicit sqlite_spool(sqlite3* db) : db_(db) {}
  error_code fail(const char* what, std::string& detail) const;
  error_code exec(const char* sql, std::string& detail);

  sqlite3* db_;
};

/// A NATS header block ("NATS/1.0\r\nName: value\r\n...\r\n\r\n"); empty for no headers.
std::string format_headers(const header_list& headers);

}  // namespace natscoro::detail
