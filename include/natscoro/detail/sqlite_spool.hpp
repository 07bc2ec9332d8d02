// The SQLite file of an outbox: events appended in group commits, read back in
// order, removed once relayed. A commit waits for fsync: the outbox's own thread.
#pragma once

#include <natscoro/detail/outbox_store.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct sqlite3;

namespace natscoro::detail {

class sqlite_spool final : public outbox_store {
 public:
  /// Opens or creates `path`: WAL, synchronous FULL (or NORMAL), the schema, and a
  /// quick_check. errc::outbox_corrupt (not a database, or damaged) or
  /// errc::invalid_argument (cannot be opened or created), with `detail`.
  static std::unique_ptr<sqlite_spool> open(const std::string& path, bool synchronous_full, error_code& ec,
                                            std::string& detail);
  ~sqlite_spool() override;
  sqlite_spool(const sqlite_spool&) = delete;
  sqlite_spool& operator=(const sqlite_spool&) = delete;

  error_code append(std::vector<outbox_record>& records, std::string& detail) override;

  // One relay per file: a claim reads on after the last one (it need not be
  // settled); a failed record sets the cursor back before it.
  error_code claim(std::size_t limit, std::vector<outbox_record>& out, std::string& detail) override;
  bool reads_ahead() const override { return true; }
  error_code settle(const std::vector<std::int64_t>& relayed, const std::vector<refused_record>& refused,
                    const std::vector<std::int64_t>& failed, std::int64_t& oldest_created_ns,
                    std::string& detail) override;
  error_code summarize(outbox_summary& out, std::string& detail) override;

 private:
  struct statements;
  class statement;
  sqlite_spool(sqlite3* db, bool synchronous_full);
  error_code run(statement& st, const char* what, std::string& detail);
  void rollback();
  void set_synchronous(bool full);
  error_code fail(const char* what, std::string& detail) const;
  error_code exec(const char* sql, std::string& detail);
  error_code oldest(std::int64_t& created_ns, std::string& detail);

  sqlite3* db_;
  bool synchronous_full_;
  std::unique_ptr<statements> statements_;
  std::int64_t cursor_ = 0;  // the highest seq claimed
};

}  // namespace natscoro::detail
