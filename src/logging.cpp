#include <natscoro/logging.hpp>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>

namespace natscoro {
namespace {

std::mutex logger_mutex;
std::shared_ptr<spdlog::logger> current_logger;

std::shared_ptr<spdlog::logger> default_logger() {
  if (auto registered = spdlog::get("natscoro")) return registered;
  try {
    return spdlog::stderr_color_mt("natscoro");
  } catch (const spdlog::spdlog_ex&) {  // registered by another thread meanwhile
    return spdlog::get("natscoro");
  }
}

}  // namespace

std::shared_ptr<spdlog::logger> logger() {
  std::lock_guard lock(logger_mutex);
  if (!current_logger) current_logger = default_logger();
  return current_logger;
}

void set_logger(std::shared_ptr<spdlog::logger> new_logger) {
  std::lock_guard lock(logger_mutex);
  current_logger = std::move(new_logger);
}

}  // namespace natscoro
