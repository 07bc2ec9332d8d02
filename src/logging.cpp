#include <natscoro/detail/log_text.hpp>
#include <natscoro/logging.hpp>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>

namespace natscoro {
namespace {

// Passes every line natscoro logs through safe_log_text() to the logger it wraps:
// a line may quote a message, a server's error or a URL, and must neither break
// into fake lines, nor reach a terminal as escape sequences, nor show a password.
// The level is this logger's own (set through natscoro::logger()); it starts as
// the wrapped logger's, which still applies its own level and sinks.
class safe_logger final : public spdlog::logger {
 public:
  explicit safe_logger(std::shared_ptr<spdlog::logger> inner)
      : spdlog::logger(inner->name()), inner_(std::move(inner)) {
    set_level(inner_->level());
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string text = detail::safe_log_text({msg.payload.data(), msg.payload.size()});
    inner_->log(msg.time, msg.source, msg.level, text);
  }
  void flush_() override { inner_->flush(); }

 private:
  std::shared_ptr<spdlog::logger> inner_;
};

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
  if (!current_logger) current_logger = std::make_shared<safe_logger>(default_logger());
  return current_logger;
}

void set_logger(std::shared_ptr<spdlog::logger> new_logger) {
  std::lock_guard lock(logger_mutex);
  current_logger = new_logger ? std::make_shared<safe_logger>(std::move(new_logger)) : nullptr;
}

}  // namespace natscoro
