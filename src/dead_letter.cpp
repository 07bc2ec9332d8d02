#include <natscoro/dead_letter.hpp>
#include <natscoro/detail/api_client.hpp>
#include <natscoro/detail/dead_letter_writer.hpp>
#include <natscoro/detail/stored_message.hpp>
#include <natscoro/logging.hpp>

#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/system_executor.hpp>
#include <boost/json.hpp>

#include <charconv>

namespace natscoro {
namespace detail {

using list_operation = pending_operation<void(error_code, std::vector<dead_letter_entry>)>;
using replay_operation = pending_operation<void(error_code, pub_ack)>;
using replay_all_operation = pending_operation<void(error_code, std::size_t)>;

namespace {

std::uint64_t to_u64(const std::string& text) {
  std::uint64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

std::string header_of(const header_list& headers, std::string_view name) {
  for (const auto& [k, v] : headers)
    if (boost::algorithm::iequals(k, name)) return v;
  return {};
}

dead_letter_entry entry_from(std::uint64_t sequence, natsMsg* m) {
  dead_letter_entry e;
  e.sequence = sequence;
  e.subject = natsMsg_GetSubject(m);
  e.headers = message_headers(m);
  e.data = std::string(message_data(m));
  e.original_stream = header_of(e.headers, "Natscoro-Original-Stream");
  e.original_subject = header_of(e.headers, "Natscoro-Original-Subject");
  e.original_sequence = to_u64(header_of(e.headers, "Natscoro-Original-Sequence"));
  e.consumer = header_of(e.headers, "Natscoro-Consumer");
  e.deliveries = to_u64(header_of(e.headers, "Natscoro-Deliveries"));
  e.error = header_of(e.headers, "Natscoro-Error");
  e.failed_at = header_of(e.headers, "Natscoro-Failed-At");
  return e;
}

}  // namespace

class dead_letter_queue_core : public std::enable_shared_from_this<dead_letter_queue_core> {
 public:
  dead_letter_queue_core(const jetstream& js, std::string stream) : js_(js), stream_(std::move(stream)) {}

  void list(std::uint64_t from, std::size_t limit, const std::shared_ptr<list_operation>& op) {
    js_.api()->request("STREAM.INFO." + stream_, "",
                       [self = shared_from_this(), from, limit, op](error_code ec, boost::json::value info) {
                         if (ec) return void(op->complete(ec, {}));
                         const auto& state = info.at("state");
                         const auto first = state.at("first_seq").to_number<std::uint64_t>();
                         const auto last = state.at("last_seq").to_number<std::uint64_t>();
                         auto out = std::make_shared<std::vector<dead_letter_entry>>();
                         self->collect(std::max(from, first), last, limit, out, op);
                       });
  }

  void replay(std::uint64_t sequence, std::function<void(error_code, pub_ack)> done) {
    fetch_stored_message(
        js_.conn(), js_.opts().api_prefix, stream_, sequence,
        [self = shared_from_this(), sequence, done = std::move(done)](error_code ec, nats_msg_ptr msg) {
          if (ec) return done(ec, {});
          auto entry = entry_from(sequence, msg.get());
          if (entry.original_subject.empty()) {
            logger()->error("dead-letter {} #{} has no Natscoro-Original-Subject header; not replayed", self->stream_,
                            sequence);
            return done(make_error_code(errc::invalid_argument), {});
          }
          raw_message out;
          out.subject = entry.original_subject;
          out.data = std::move(entry.data);
          out.id = new_event_id();
          out.headers = std::move(entry.headers);
          std::erase_if(out.headers,
                        [](const auto& h) { return boost::algorithm::istarts_with(h.first, dead_letter_header_prefix); });
          out.headers.emplace_back("Natscoro-Replay-Id", out.id);
          out.headers.emplace_back("Natscoro-Replayed-From", self->stream_ + ":" + std::to_string(sequence));
          self->publisher().publish_raw(std::move(out), [self, sequence, done](error_code ec, pub_ack ack) {
            if (ec) return done(ec, {});
            boost::json::object body;
            body["seq"] = sequence;
            self->js_.api()->request("STREAM.MSG.DELETE." + self->stream_, boost::json::serialize(body),
                                     [self, sequence, ack, done](error_code ec, boost::json::value) {
                                       if (ec)
                                         logger()->error("dead-letter {} #{} was replayed but not deleted: {}",
                                                         self->stream_, sequence, ec.message());
                                       else
                                         logger()->info("dead-letter {} #{} replayed to {} #{}", self->stream_,
                                                        sequence, ack.stream, ack.sequence);
                                       done(ec, ack);
                                     });
          });
        });
  }

  void replay_all(const std::shared_ptr<replay_all_operation>& op) {
    auto self = shared_from_this();
    auto listed = list_operation::create(
        [self, op](error_code ec, std::vector<dead_letter_entry> entries) {
          if (ec) return void(op->complete(ec, 0));
          auto sequences = std::make_shared<std::vector<std::uint64_t>>();
          for (const auto& e : entries) sequences->push_back(e.sequence);
          self->replay_next(sequences, 0, op);
        },
        js_.get_executor());
    list(0, std::numeric_limits<std::size_t>::max(), listed);
  }

  boost::asio::any_io_executor executor() const { return js_.get_executor(); }

 private:
  void collect(std::uint64_t seq, std::uint64_t last, std::size_t limit,
               const std::shared_ptr<std::vector<dead_letter_entry>>& out, const std::shared_ptr<list_operation>& op) {
    if (seq == 0 || seq > last || out->size() >= limit) return void(op->complete({}, std::move(*out)));
    fetch_stored_message(js_.conn(), js_.opts().api_prefix, stream_, seq,
                         [self = shared_from_this(), seq, last, limit, out, op](error_code ec, nats_msg_ptr msg) {
                           if (ec == jetstream_errc::no_message_found) return self->collect(seq + 1, last, limit, out, op);
                           if (ec) return void(op->complete(ec, {}));
                           out->push_back(entry_from(seq, msg.get()));
                           self->collect(seq + 1, last, limit, out, op);
                         });
  }

  void replay_next(const std::shared_ptr<std::vector<std::uint64_t>>& sequences, std::size_t done,
                   const std::shared_ptr<replay_all_operation>& op) {
    if (done == sequences->size()) return void(op->complete({}, done));
    replay((*sequences)[done], [self = shared_from_this(), sequences, done, op](error_code ec, pub_ack) {
      if (ec) return void(op->complete(ec, done));
      self->replay_next(sequences, done + 1, op);
    });
  }

  natscoro::publisher& publisher() {
    if (!publisher_) {
      publisher_options opts;
      opts.require_organization = false;
      publisher_ = std::make_unique<natscoro::publisher>(js_, opts);
    }
    return *publisher_;
  }

  jetstream js_;
  std::string stream_;
  std::unique_ptr<natscoro::publisher> publisher_;
};

}  // namespace detail

dead_letter_queue::dead_letter_queue(const jetstream& js, std::string stream)
    : core_(std::make_shared<detail::dead_letter_queue_core>(js, std::move(stream))) {}

void dead_letter_queue::async_list(
    const std::shared_ptr<detail::dead_letter_queue_core>& core, std::uint64_t from, std::size_t limit,
    boost::asio::any_completion_handler<void(error_code, std::vector<dead_letter_entry>)> h) {
  core->list(from, limit, detail::list_operation::create(std::move(h), core->executor()));
}

void dead_letter_queue::async_replay(const std::shared_ptr<detail::dead_letter_queue_core>& core,
                                     std::uint64_t sequence,
                                     boost::asio::any_completion_handler<void(error_code, pub_ack)> h) {
  auto op = detail::replay_operation::create(std::move(h), core->executor());
  core->replay(sequence, [op](error_code ec, pub_ack ack) { op->complete(ec, ack); });
}

void dead_letter_queue::async_replay_all(const std::shared_ptr<detail::dead_letter_queue_core>& core,
                                         boost::asio::any_completion_handler<void(error_code, std::size_t)> h) {
  core->replay_all(detail::replay_all_operation::create(std::move(h), core->executor()));
}

}  // namespace natscoro
