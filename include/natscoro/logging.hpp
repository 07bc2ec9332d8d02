// The logger natscoro writes to.
//
// natscoro logs through an spdlog logger named "natscoro". By default it is the
// logger of that name in spdlog's registry, created (stderr, colour) on first
// use when the application did not register one. At info level the library only
// reports lifecycle events (connected, disconnected, reconnected, closed);
// per-message detail is at debug, failures at warn and error.
//
// Every line is made safe before it reaches the logger's sinks: control
// characters (line breaks, terminal escapes) in quoted text are escaped as
// \xNN, and the user information of URLs ("nats://user:password@host") is
// redacted. So a message's content cannot forge log lines, and no password or
// token is logged.
#pragma once

#include <spdlog/logger.h>

#include <memory>

namespace natscoro {

/// The logger natscoro currently writes to (a wrapper that makes each line safe,
/// then hands it to the logger set, which applies its own level and sinks too).
/// Set natscoro's level here: `natscoro::logger()->set_level(...)`. Thread-safe.
std::shared_ptr<spdlog::logger> logger();

/// Replaces the logger natscoro writes to (nullptr restores the default); natscoro's
/// level starts as `new_logger`'s level at this call. Thread-safe.
void set_logger(std::shared_ptr<spdlog::logger> new_logger);

}  // namespace natscoro
