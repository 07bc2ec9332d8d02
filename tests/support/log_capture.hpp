// Captures what natscoro logs (every level) for a test to read; restores the
// default logger when it goes.
#pragma once

#include <natscoro/logging.hpp>

#include <spdlog/sinks/ostream_sink.h>

#include <memory>
#include <sstream>
#include <string>

namespace natscoro::test {

class log_capture {
 public:
  log_capture() {
    auto logger = std::make_shared<spdlog::logger>("natscoro", std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
    logger->set_pattern("[%l] %v");
    logger->set_level(spdlog::level::trace);
    set_logger(logger);
  }
  ~log_capture() { set_logger(nullptr); }
  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;

  /// Everything logged so far, a line each.
  std::string text() const {
    natscoro::logger()->flush();
    return out_.str();
  }

 private:
  std::ostringstream out_;
};

}  // namespace natscoro::test
