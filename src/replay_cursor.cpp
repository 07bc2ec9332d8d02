#include <natscoro/detail/replay_cursor.hpp>

#include <algorithm>

namespace natscoro::detail {
namespace {

const std::uint64_t* sequence_of(const stream_position& p) { return std::get_if<std::uint64_t>(&p); }
const std::chrono::system_clock::time_point* time_of(const stream_position& p) {
  return std::get_if<std::chrono::system_clock::time_point>(&p);
}

}  // namespace

replay_cursor::replay_cursor(replay_range range, std::uint64_t stream_last_sequence)
    : range_(std::move(range)), end_sequence_(stream_last_sequence) {
  if (const auto* to = sequence_of(range_.to)) end_sequence_ = std::min(end_sequence_, *to);
}

std::string replay_cursor::check() const {
  const auto *from_seq = sequence_of(range_.from), *to_seq = sequence_of(range_.to);
  if (from_seq && *from_seq == 0) return "replay from sequence 0: sequences start at 1";
  if (from_seq && to_seq && *from_seq > *to_seq)
    return "replay from sequence " + std::to_string(*from_seq) + " to " + std::to_string(*to_seq) +
           ": from is after to";
  const auto *from_time = time_of(range_.from), *to_time = time_of(range_.to);
  if (from_time && to_time && *from_time > *to_time)
    return "replay from " + format_rfc3339(*from_time) + " to " + format_rfc3339(*to_time) + ": from is after to";
  return {};
}

bool replay_cursor::empty() const {
  const auto* from_seq = sequence_of(range_.from);
  return end_sequence_ == 0 || (from_seq && *from_seq > end_sequence_);
}

consumer_config replay_cursor::next_consumer(std::chrono::nanoseconds inactive_threshold) const {
  consumer_config cfg;
  cfg.description = "natscoro replay";
  cfg.filter_subject = range_.filter_subject;
  cfg.ack = ack_policy::none;
  cfg.inactive_threshold = inactive_threshold;
  if (last_stream_sequence_ > 0) {
    cfg.deliver = deliver_policy::by_start_sequence;
    cfg.start_sequence = last_stream_sequence_ + 1;
  } else if (const auto* from_seq = sequence_of(range_.from)) {
    cfg.deliver = deliver_policy::by_start_sequence;
    cfg.start_sequence = *from_seq;
  } else {
    cfg.deliver = deliver_policy::by_start_time;
    cfg.start_time = *time_of(range_.from);
  }
  return cfg;
}

bool replay_cursor::beyond_end(const message_metadata& md) const {
  if (md.stream_sequence > end_sequence_) return true;
  const auto* to_time = time_of(range_.to);
  return to_time && md.timestamp > *to_time;
}

replay_cursor::verdict replay_cursor::on_delivery(const message_metadata& md) {
  // An ordered consumer's deliveries count 1, 2, 3...; anything else means some were lost.
  if (md.consumer_sequence != last_consumer_sequence_ + 1 || md.stream_sequence <= last_stream_sequence_)
    return verdict::gap;
  last_consumer_sequence_ = md.consumer_sequence;
  suspected_gap_at_ = 0;
  if (beyond_end(md)) return verdict::past_end;
  last_stream_sequence_ = md.stream_sequence;
  return md.stream_sequence >= end_sequence_ || md.num_pending == 0 ? verdict::hand_out_last : verdict::hand_out;
}

replay_cursor::quiet_verdict replay_cursor::on_quiet(std::uint64_t pending, std::uint64_t delivered) {
  if (delivered > last_consumer_sequence_) {
    if (suspected_gap_at_ == delivered) return quiet_verdict::gap;
    suspected_gap_at_ = delivered;
    return quiet_verdict::wait;
  }
  suspected_gap_at_ = 0;
  return pending == 0 ? quiet_verdict::finished : quiet_verdict::wait;
}

}  // namespace natscoro::detail
