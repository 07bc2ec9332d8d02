// Durations and sizes as operators write them (topology files, the CLI).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace natscoro {

/// "500ms", "30s", "5m", "2h", "7d" (units ns, us, ms, s, m, h, d; parts may
/// follow each other: "1h30m"). Empty when it is not one.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

/// "512", "64KB", "100MB", "1GB", "2TB": bytes, 1024-based (KB = 1024 bytes).
/// Empty when it is not one (negative sizes included).
std::optional<std::int64_t> parse_size(std::string_view text);

/// The other way, in the largest units that are exact: "180d", "2m", "1h30m",
/// "1s500ms", "0s"; parse_duration() reads it back to the same value. Negative
/// ones get a leading "-".
std::string format_duration(std::chrono::nanoseconds d);

/// "64KB", "100MB", "1536B" (1024-based, exact, as parse_size() reads them).
/// Negative ones are shown as numbers ("-1").
std::string format_size(std::int64_t bytes);

}  // namespace natscoro
