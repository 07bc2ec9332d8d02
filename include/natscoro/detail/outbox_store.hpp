// Where an outbox keeps its events until they are relayed: an SQLite file
// (sqlite_spool) or a PostgreSQL table (postgres_store). Synchronous; an outbox
// uses its store from the outbox's own thread only, never an executor's.
#pragma once

#include <natscoro/detail/envelope_codec.hpp>
#include <natscoro/error.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace natscoro::detail {

struct outbox_record {
  std::int64_t seq = 0;  ///< assigned by the store; the relay's order
  std::string id;        ///< the event id: the Nats-Msg-Id it is published with
  std::string subject;
  header_list headers;
  std::string body;
  std::int64_t created_ns = 0;  ///< when it was stored (system clock)
  std::string unusable;         ///< why it cannot be published (damaged headers); empty: fine
  std::size_t size() const;     ///< what it counts against a quota
};

struct outbox_summary {
  std::uint64_t count = 0;
  std::uint64_t bytes = 0;
  std::int64_t oldest_created_ns = 0;  ///< 0 when empty
};

/// A record the relay will never publish (its subject or size is refused), and why.
struct refused_record {
  std::int64_t seq = 0;
  std::string reason;
};

class outbox_store {
 public:
  virtual ~outbox_store() = default;

  /// Appends every record in one transaction (one commit) and assigns their seqs.
  virtual error_code append(std::vector<outbox_record>& records, std::string& detail) = 0;

  /// Claims at most `limit` records, oldest first, for one relay pass; records
  /// claimed by another relay (PostgreSQL: FOR UPDATE SKIP LOCKED) and refused
  /// ones are not returned. Every claim ends with settle().
  virtual error_code claim(std::size_t limit, std::vector<outbox_record>& out, std::string& detail) = 0;
  /// Whether the next claim may run before the last one is settled (the relay
  /// then reads the next batch while the PubAcks of this one come in).
  virtual bool reads_ahead() const = 0;
  /// Ends a claim: removes `relayed`, marks `refused` (kept, never claimed again);
  /// `failed` are claimed again, before anything claimed after them. Then
  /// `oldest_created_ns` is the oldest pending record's (0: none).
  virtual error_code settle(const std::vector<std::int64_t>& relayed, const std::vector<refused_record>& refused,
                            const std::vector<std::int64_t>& failed, std::int64_t& oldest_created_ns,
                            std::string& detail) = 0;
  /// Pending (not refused) records.
  virtual error_code summarize(outbox_summary& out, std::string& detail) = 0;
};

/// A NATS header block ("NATS/1.0\r\nName: value\r\n...\r\n\r\n"); empty for no headers.
std::string format_headers(const header_list& headers);

}  // namespace natscoro::detail
