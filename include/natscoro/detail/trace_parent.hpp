// W3C Trace Context's traceparent, "00-<trace-id>-<parent-id>-<flags>", as the
// CloudEvents distributed-tracing extension carries it (attribute "traceparent"):
// parsed and checked, continued with a new span, or started. No I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace natscoro::detail {

struct trace_parent {
  std::string trace_id;   ///< 32 lower-case hex digits, not all zero
  std::string parent_id;  ///< 16 lower-case hex digits, not all zero: the span that caused what carries it
  std::string flags;      ///< 2 hex digits; "01": sampled

  /// Version 00 only (the one W3C defines); nullopt when `text` is not one.
  static std::optional<trace_parent> parse(std::string_view text);
  /// A new trace, sampled, with random ids (Boost.UUID's generator).
  static trace_parent fresh();

  /// The same trace, with a new random span as the parent of what comes next.
  trace_parent child() const;
  std::string text() const { return "00-" + trace_id + "-" + parent_id + "-" + flags; }
};

}  // namespace natscoro::detail
