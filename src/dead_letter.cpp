#include <natscoro/dead_letter.hpp>
#include <natscoro/detail/access.hpp>
#include <natscoro/detail/api_client.hpp>
#include <natscoro/detail/dead_letter_format.hpp>
#include <natscoro/detail/names.hpp>
#include <natscoro/detail/on_strand.hpp>
#include <natscoro/detail/stored_message.hpp>
#include <natscoro/logging.hpp>

#include <boost/json.hpp>

#include <algorithm>

namespace natscoro {
namespace detail {

using list_operation = pending_operation<void(error_code, std::vector<dead_letter_entry>)>;
using replay_operation = pending_operation<void(error_code, pub_ack)>;
using replay_all_operation = pending_operation<void(error_code, std::size_t)>;
/// How one entry's replay ended; `why` says what went wrong, in words, on error.
using replay_done = std::function<void(error_code, pub_ack, const std::string& why)>;

class dead_letter_queue_core : public std::enable_shared_from_this<dead_letter_queue_core> {
 public:
  dead_letter_queue_core(const jetstream& js, std::string stream) : js_(js), stream_(std::move(stream)) {}

  // One request per entry, whatever was deleted in between (the server skips to the next).
  void list(std::uint64_t from, std::size_t limit, const std::shared_ptr<list_operation>& op) {
    collect(std::max<std::uint64_t>(from, 1), limit, std::make_shared<std::vector<dead_letter_entry>>(), op);
  }

  void replay(std::uint64_t sequence, replay_done done) {
    fetch_stored_message(
        js_, stream_, sequence, false,
        [self = shared_from_this(), sequence, done = std::move(done)](error_code ec, stored_message m) {
          if (ec)
            return done(
                ec, {},
                self->stream_ + ": dead-letter entry #" + std::to_string(sequence) + " not read: " + ec.message());
          self->replay_entry(read_dead_letter_entry(std::move(m)), std::move(done));
        });
  }

  // Entry after entry, up to the last one there at the start (a replayed message that
  // fails again comes back behind it). A refused entry is left where it is and skipped.
  void replay_all(const std::shared_ptr<replay_all_operation>& op) {
    js_.stream_info(stream_, [self = shared_from_this(), op](error_code ec, stream_info info) {
      if (ec) return void(op->fail(self->stream_ + ": stream info: " + ec.message(), ec, 0));
      auto progress = std::make_shared<replay_progress>();
      progress->last = info.state.last_sequence;
      self->replay_from(info.state.first_sequence, progress, op);
    });
  }

  boost::asio::any_io_executor executor() const { return js_.get_executor(); }

 private:
  struct replay_progress {
    std::uint64_t last = 0;
    std::size_t replayed = 0;
    std::size_t refused = 0;
  };

  void collect(std::uint64_t from, std::size_t limit, const std::shared_ptr<std::vector<dead_letter_entry>>& out,
               const std::shared_ptr<list_operation>& op) {
    if (out->size() >= limit) return void(op->complete({}, std::move(*out)));
    fetch_stored_message(
        js_, stream_, from, true, [self = shared_from_this(), from, limit, out, op](error_code ec, stored_message m) {
          if (ec == jetstream_errc::no_message_found) return void(op->complete({}, std::move(*out)));
          if (ec)
            return void(op->fail(
                self->stream_ + ": dead-letter entry #" + std::to_string(from) + " not read: " + ec.message(), ec, {}));
          const auto next = m.sequence + 1;
          out->push_back(read_dead_letter_entry(std::move(m)));
          self->collect(next, limit, out, op);
        });
  }

  // The entry's original stream says which subjects it may go to; the server checks
  // again that this stream stores it (Nats-Expected-Stream).
  void replay_entry(dead_letter_entry entry, replay_done done) {
    auto self = shared_from_this();
    std::string detail;
    if (check_name("original stream", entry.original_stream, detail) ||
        check_replay_target(entry, {">"}, detail)) {  // before asking the server anything
      detail = stream_ + ": " + detail;
      logger()->error("{}", detail);
      return done(make_error_code(errc::replay_refused), {}, detail);
    }
    const std::string original_stream = entry.original_stream;
    js_.stream_info(original_stream, [self, entry = std::move(entry), done = std::move(done)](
                                         error_code ec, stream_info original) mutable {
      if (ec) {
        const std::string why = self->stream_ + ": dead-letter entry #" + std::to_string(entry.sequence) +
                                " not replayed: its stream " + entry.original_stream + ": " + ec.message();
        logger()->error("{}", why);
        return done(ec, {}, why);
      }
      std::string detail;
      if (auto refused = check_replay_target(entry, original.config.subjects, detail)) {
        detail = self->stream_ + ": " + detail;
        logger()->error("{}", detail);
        return done(refused, {}, detail);
      }
      const auto sequence = entry.sequence;
      self->publisher().publish_raw(
          replay_message(entry, self->stream_), [self, sequence, done](error_code ec, pub_ack ack) {
            if (ec)
              return done(ec, {},
                          self->stream_ + ": dead-letter entry #" + std::to_string(sequence) +
                              " not replayed: " + ec.message());
            boost::json::object body;
            body["seq"] = sequence;
            access::api(self->js_)->request("STREAM.MSG.DELETE", {self->stream_}, boost::json::serialize(body),
                                            [self, sequence, ack, done](error_code ec, boost::json::value) {
                                              std::string why;
                                              if (ec) {
                                                why = "dead-letter " + self->stream_ + " #" + std::to_string(sequence) +
                                                      " was replayed but not deleted: " + ec.message();
                                                logger()->error("{}", why);
                                              } else {
                                                logger()->info("dead-letter {} #{} replayed to {} #{}", self->stream_,
                                                               sequence, ack.stream, ack.sequence);
                                              }
                                              done(ec, ack, why);
                                            });
          });
    });
  }

  void replay_from(std::uint64_t from, const std::shared_ptr<replay_progress>& progress,
                   const std::shared_ptr<replay_all_operation>& op) {
    auto finish = [progress, op](error_code ec, std::string why) {
      if (!ec && progress->refused > 0) {
        ec = make_error_code(errc::replay_refused);
        why = std::to_string(progress->refused) + " entries refused, left in place (the log says why)";
      }
      op->fail(std::move(why), ec, progress->replayed);
    };
    if (from == 0 || from > progress->last) return finish({}, {});
    fetch_stored_message(
        js_, stream_, from, true,
        [self = shared_from_this(), from, progress, op, finish](error_code ec, stored_message m) {
          if (ec == jetstream_errc::no_message_found) return finish({}, {});
          if (ec)
            return finish(
                ec, self->stream_ + ": dead-letter entry #" + std::to_string(from) + " not read: " + ec.message());
          const auto next = m.sequence + 1;
          if (m.sequence > progress->last) return finish({}, {});
          self->replay_entry(read_dead_letter_entry(std::move(m)),
                             [self, progress, op, next, finish](error_code ec, pub_ack, const std::string& why) {
                               if (ec == errc::replay_refused) {
                                 ++progress->refused;
                               } else if (ec) {
                                 return finish(ec, why);
                               } else {
                                 ++progress->replayed;
                               }
                               self->replay_from(next, progress, op);
                             });
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
  auto op = detail::list_operation::create(std::move(h), core->executor());
  op->complete_on_terminal_cancel();
  detail::on_strand(core->executor(), [core, from, limit, op] { core->list(from, limit, op); });
}

void dead_letter_queue::async_replay(const std::shared_ptr<detail::dead_letter_queue_core>& core,
                                     std::uint64_t sequence,
                                     boost::asio::any_completion_handler<void(error_code, pub_ack)> h) {
  auto op = detail::replay_operation::create(std::move(h), core->executor());
  op->complete_on_terminal_cancel();
  detail::on_strand(core->executor(), [core, sequence, op] {
    core->replay(sequence, [op](error_code ec, pub_ack ack, const std::string& why) { op->fail(why, ec, ack); });
  });
}

void dead_letter_queue::async_replay_all(const std::shared_ptr<detail::dead_letter_queue_core>& core,
                                         boost::asio::any_completion_handler<void(error_code, std::size_t)> h) {
  auto op = detail::replay_all_operation::create(std::move(h), core->executor());
  op->complete_on_terminal_cancel();
  detail::on_strand(core->executor(), [core, op] { core->replay_all(op); });
}

}  // namespace natscoro
