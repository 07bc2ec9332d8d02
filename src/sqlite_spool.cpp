#include <natscoro/detail/sqlite_spool.hpp>
#include <natscoro/detail/stored_message.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <chrono>

namespace natscoro::detail {
namespace {

constexpr const char* schema = R"(
  CREATE TABLE IF NOT EXISTS natscoro_outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    headers    BLOB    NOT NULL,
    body       BLOB    NOT NULL,
    created_ns INTEGER NOT NULL,
    size       INTEGER NOT NULL,
    refused    TEXT              -- why the relay will never publish it; NULL: pending
  ))";

}  // namespace

// A prepared statement, finalized when it goes.
class sqlite_spool::statement {
 public:
  statement(sqlite3* db, const char* sql, unsigned flags = 0) {
    status_ = sqlite3_prepare_v3(db, sql, -1, flags, &stmt_, nullptr);
  }
  ~statement() { sqlite3_finalize(stmt_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  bool ok() const { return status_ == SQLITE_OK; }
  sqlite3_stmt* get() const { return stmt_; }
  // The bytes must stay until the statement is reset (SQLite does not copy them).
  void bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  }
  void bind_blob(int i, std::string_view bytes) {
    sqlite3_bind_blob(stmt_, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC);
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  void bind(int i, std::int64_t n) { sqlite3_bind_int64(stmt_, i, n); }
  std::string column(int i) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, i));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i))) : std::string();
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int status_ = SQLITE_ERROR;
};

// The statements every commit and relay pass runs, prepared once.
struct sqlite_spool::statements {
  explicit statements(sqlite3* db)
      : begin(db, "BEGIN IMMEDIATE", SQLITE_PREPARE_PERSISTENT),
        commit(db, "COMMIT", SQLITE_PREPARE_PERSISTENT),
        insert(db, "INSERT INTO natscoro_outbox (id, subject, headers, body, created_ns, size) VALUES (?,?,?,?,?,?)",
               SQLITE_PREPARE_PERSISTENT),
        claim(db,
              "SELECT seq, id, subject, headers, body, created_ns FROM natscoro_outbox "
              "WHERE seq > ? AND refused IS NULL ORDER BY seq LIMIT ?",
              SQLITE_PREPARE_PERSISTENT),
        remove(db, "DELETE FROM natscoro_outbox WHERE seq = ?", SQLITE_PREPARE_PERSISTENT),
        refuse(db, "UPDATE natscoro_outbox SET refused = ? WHERE seq = ?", SQLITE_PREPARE_PERSISTENT),
        oldest(db, "SELECT created_ns FROM natscoro_outbox WHERE refused IS NULL ORDER BY seq LIMIT 1",
               SQLITE_PREPARE_PERSISTENT) {}
  bool ok() const {
    return begin.ok() && commit.ok() && insert.ok() && claim.ok() && remove.ok() && refuse.ok() && oldest.ok();
  }
  statement begin, commit, insert, claim, remove, refuse, oldest;
};

std::size_t outbox_record::size() const {
  std::size_t n = id.size() + subject.size() + body.size();
  for (const auto& [k, v] : headers) n += k.size() + v.size();
  return n;
}

std::string format_headers(const header_list& headers) {
  if (headers.empty()) return {};
  std::string out = "NATS/1.0\r\n";
  for (const auto& [k, v] : headers) out.append(k).append(": ").append(v).append("\r\n");
  return out.append("\r\n");
}

std::unique_ptr<sqlite_spool> sqlite_spool::open(const std::string& path, bool synchronous_full, error_code& ec,
                                                 std::string& detail) {
  sqlite3* db = nullptr;
  const int status =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (status != SQLITE_OK) {
    detail = "outbox " + path + " cannot be opened: " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(status));
    sqlite3_close(db);
    ec = make_error_code(errc::invalid_argument);
    return nullptr;
  }
  std::unique_ptr<sqlite_spool> spool(new sqlite_spool(db, synchronous_full));
  sqlite3_busy_timeout(db, 5000);
  std::string why;
  // A file that is not a database fails already here ("file is not a database").
  if (spool->exec("PRAGMA journal_mode=WAL", why) ||
      spool->exec(synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", why) ||
      spool->exec(schema, why)) {
    detail = "outbox " + path + " is not a usable SQLite database: " + why;
    ec = make_error_code(errc::outbox_corrupt);
    return nullptr;
  }
  // Files made before the refused column get it (SQLite has no ADD COLUMN IF NOT EXISTS).
  statement has_refused(db, "SELECT 1 FROM pragma_table_info('natscoro_outbox') WHERE name = 'refused'");
  if (has_refused.ok() && sqlite3_step(has_refused.get()) == SQLITE_DONE &&
      spool->exec("ALTER TABLE natscoro_outbox ADD COLUMN refused TEXT", why)) {
    detail = "outbox " + path + " cannot be upgraded: " + why;
    ec = make_error_code(errc::outbox_corrupt);
    return nullptr;
  }
  statement check(db, "PRAGMA quick_check");
  const bool checked = check.ok() && sqlite3_step(check.get()) == SQLITE_ROW && check.column(0) == "ok";
  if (!checked) {
    detail = "outbox " + path + " is damaged: " + (check.ok() ? check.column(0) : std::string(sqlite3_errmsg(db)));
    ec = make_error_code(errc::outbox_corrupt);
    return nullptr;
  }
  spool->statements_ = std::make_unique<statements>(db);
  if (!spool->statements_->ok()) {
    detail = "outbox " + path + ": cannot prepare its statements: " + sqlite3_errmsg(db);
    ec = make_error_code(errc::outbox_corrupt);
    return nullptr;
  }
  ec = {};
  return spool;
}

sqlite_spool::sqlite_spool(sqlite3* db, bool synchronous_full) : db_(db), synchronous_full_(synchronous_full) {}

sqlite_spool::~sqlite_spool() {
  statements_.reset();  // finalized before the database closes
  sqlite3_close_v2(db_);
}

// Runs a statement that returns no rows.
error_code sqlite_spool::run(statement& st, const char* what, std::string& detail) {
  const int status = sqlite3_step(st.get());
  auto ec = status == SQLITE_DONE ? error_code{} : fail(what, detail);
  st.reset();
  return ec;
}

void sqlite_spool::rollback() {
  std::string ignored;
  exec("ROLLBACK", ignored);
}

error_code sqlite_spool::fail(const char* what, std::string& detail) const {
  detail = std::string(what) + ": " + sqlite3_errmsg(db_);
  const int code = sqlite3_errcode(db_) & 0xff;
  if (code == SQLITE_FULL) return make_error_code(errc::outbox_full);
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) return make_error_code(errc::outbox_corrupt);
  return make_error_code(errc::invalid_argument);
}

void sqlite_spool::set_synchronous(bool full) {
  std::string ignored;  // a PRAGMA on an open database does not fail
  exec(full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", ignored);
}

error_code sqlite_spool::exec(const char* sql, std::string& detail) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) == SQLITE_OK) return {};
  detail = message ? message : sqlite3_errmsg(db_);
  sqlite3_free(message);
  return fail(sql, detail);
}

error_code sqlite_spool::append(std::vector<outbox_record>& records, std::string& detail) {
  auto& st = *statements_;
  if (auto ec = run(st.begin, "starting a commit", detail)) return ec;
  for (auto& r : records) {
    const std::string headers = format_headers(r.headers);
    st.insert.bind(1, r.id);
    st.insert.bind(2, r.subject);
    st.insert.bind_blob(3, headers);
    st.insert.bind_blob(4, r.body);
    st.insert.bind(5, r.created_ns);
    st.insert.bind(6, static_cast<std::int64_t>(r.size()));
    if (auto ec = run(st.insert, "storing an event", detail)) {
      rollback();
      return ec;
    }
    r.seq = sqlite3_last_insert_rowid(db_);
  }
  if (auto ec = run(st.commit, "committing events", detail)) {
    rollback();
    return ec;
  }
  return {};
}

error_code sqlite_spool::claim(std::size_t limit, std::vector<outbox_record>& out, std::string& detail) {
  auto& select = statements_->claim;
  select.bind(1, cursor_);
  select.bind(2, static_cast<std::int64_t>(limit));
  int status = SQLITE_ROW;
  while ((status = sqlite3_step(select.get())) == SQLITE_ROW) {
    outbox_record r;
    r.seq = sqlite3_column_int64(select.get(), 0);
    r.id = select.column(1);
    r.subject = select.column(2);
    std::string why;
    if (!parse_headers(select.column(3), r.headers, why)) r.unusable = "damaged headers: " + why;
    r.body = select.column(4);
    r.created_ns = sqlite3_column_int64(select.get(), 5);
    cursor_ = r.seq;
    out.push_back(std::move(r));
  }
  auto ec = status == SQLITE_DONE ? error_code{} : fail("reading events", detail);
  select.reset();
  return ec;
}

error_code sqlite_spool::settle(const std::vector<std::int64_t>& relayed, const std::vector<refused_record>& refused,
                                const std::vector<std::int64_t>& failed, std::int64_t& oldest_created_ns,
                                std::string& detail) {
  if (!failed.empty()) cursor_ = std::min(cursor_, *std::min_element(failed.begin(), failed.end()) - 1);
  if (relayed.empty() && refused.empty()) return oldest(oldest_created_ns, detail);

  // A removal need not wait for fsync: lost in a power cut, it only makes the relay
  // publish those events again (the stream drops them as duplicates), and the next
  // stored event's commit syncs it anyway. One fsync per pass fewer.
  struct lighter_sync {
    sqlite_spool& spool;
    explicit lighter_sync(sqlite_spool& s) : spool(s) { spool.set_synchronous(false); }
    ~lighter_sync() { spool.set_synchronous(spool.synchronous_full_); }
  } lighter(*this);
  auto& st = *statements_;
  if (auto ec = run(st.begin, "starting a removal", detail)) return ec;
  for (const auto seq : relayed) {
    st.remove.bind(1, seq);
    if (auto ec = run(st.remove, "removing relayed events", detail)) {
      rollback();
      return ec;
    }
  }
  for (const auto& r : refused) {
    st.refuse.bind(1, r.reason);
    st.refuse.bind(2, r.seq);
    if (auto ec = run(st.refuse, "marking refused events", detail)) {
      rollback();
      return ec;
    }
  }
  if (auto ec = run(st.commit, "committing a removal", detail)) {
    rollback();
    return ec;
  }
  return oldest(oldest_created_ns, detail);
}

error_code sqlite_spool::summarize(outbox_summary& out, std::string& detail) {
  statement s(db_, "SELECT count(*), coalesce(sum(size), 0) FROM natscoro_outbox WHERE refused IS NULL");
  if (!s.ok() || sqlite3_step(s.get()) != SQLITE_ROW) return fail("summarizing the outbox", detail);
  out.count = static_cast<std::uint64_t>(sqlite3_column_int64(s.get(), 0));
  out.bytes = static_cast<std::uint64_t>(sqlite3_column_int64(s.get(), 1));
  return oldest(out.oldest_created_ns, detail);
}

error_code sqlite_spool::oldest(std::int64_t& created_ns, std::string& detail) {
  auto& first = statements_->oldest;
  const int status = sqlite3_step(first.get());
  created_ns = status == SQLITE_ROW ? sqlite3_column_int64(first.get(), 0) : 0;
  auto ec = status == SQLITE_ROW || status == SQLITE_DONE ? error_code{} : fail("reading the oldest event", detail);
  first.reset();
  return ec;
}

}  // namespace natscoro::detail
