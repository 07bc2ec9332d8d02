// Writing to the dead-letter stream: its publisher and stream, and the mover that
// dead-letters what the server gave up on (max-deliveries advisories). What a
// dead-letter message holds is in dead_letter_format.hpp.
#pragma once

#include <natscoro/consumer.hpp>
#include <natscoro/dead_letter.hpp>
#include <natscoro/detail/dead_letter_format.hpp>
#include <natscoro/jetstream.hpp>
#include <natscoro/publisher.hpp>
#include <natscoro/runner.hpp>

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace natscoro::detail {

/// The dead-letter publisher's options: a bounded number of quick attempts (a
/// failed DLQ publish leaves the original to be redelivered).
publisher_options dead_letter_publisher_options();

/// Creates the DLQ stream if it is missing: "<prefix>.>", file storage, limits.
stream_config dead_letter_stream_config(const dead_letter_options& opts);

/// Creates `cfg` if no stream of that name exists; an existing one is left as it is
/// (an operator may have configured the DLQ or advisory stream with other limits).
void create_stream_if_missing(const jetstream& js, const stream_config& cfg, std::function<void(error_code)> done);

/// Consumes the max-deliveries advisories of one consumer (kept in
/// dead_letter_options::advisory_stream by a durable consumer of its own) and
/// dead-letters the messages they name, fetched by sequence. Lives on the
/// connection's executor.
class max_deliveries_mover : public std::enable_shared_from_this<max_deliveries_mover> {
 public:
  max_deliveries_mover(jetstream js, std::string stream, std::string consumer, dead_letter_options opts,
                       std::shared_ptr<publisher> dlq, std::function<void()> on_moved);
  void start();
  /// Stops taking advisories; `on_stopped` runs once the one in hand is done.
  void stop(std::chrono::milliseconds grace, std::function<void()> on_stopped);

 private:
  void bind();
  void take();
  void move(message advisory);
  void move_out_of_deliveries(message advisory, std::uint64_t sequence, std::uint64_t deliveries);
  void retry_or_give_up(error_code ec, const std::string& what);
  void finish_advisory(message& advisory, bool done);
  void drain_advisories();
  void maybe_stopped();

  jetstream js_;
  std::string stream_;
  std::string consumer_;
  dead_letter_options opts_;
  std::shared_ptr<publisher> dlq_;
  std::function<void()> on_moved_;
  boost::asio::steady_timer retry_timer_;  // a start that met a passing failure
  natscoro::consumer advisories_;
  bool stopping_ = false;
  bool binding_ = false;  // ensuring the advisory stream, binding its consumer
  bool bound_ = false;    // advisories_ is live (until drained)
  bool moving_ = false;   // one advisory in hand
  std::chrono::milliseconds grace_{0};
  std::function<void()> on_stopped_;
};

}  // namespace natscoro::detail
