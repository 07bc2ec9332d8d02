// The logger natscoro writes to.
//
// natscoro logs through an spdlog logger named "natscoro". By default it is the
// logger of that name in spdlog's registry, created (stderr, colour) on first
// use when the application did not register one. At info level the library only
// reports lifecycle events (connected, disconnected, reconnected, closed);
// per-message detail is at debug, failures at warn and error.
#pragma once

#include <spdlog/logger.h>

#include <memory>

namespace natscoro {

/// The logger natscoro currently writes to. Thread-safe.
std::shared_ptr<spdlog::logger> logger();

/// Replaces the logger natscoro writes to (nullptr restores the default). Thread-safe.
void set_logger(std::shared_ptr<spdlog::logger> new_logger);

}  // namespace natscoro
