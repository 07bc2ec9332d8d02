#include <natscoro/detail/access.hpp>
#include <natscoro/detail/api_client.hpp>
#include <natscoro/detail/connection_core.hpp>
#include <natscoro/detail/dead_letter_writer.hpp>
#include <natscoro/detail/log_text.hpp>
#include <natscoro/detail/names.hpp>
#include <natscoro/detail/nats_message.hpp>
#include <natscoro/detail/stored_message.hpp>
#include <natscoro/logging.hpp>

#include <boost/algorithm/string/predicate.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <charconv>

namespace natscoro::detail {

publisher_options dead_letter_publisher_options() {
  publisher_options opts;
  opts.require_organization = false;
  opts.max_in_flight = 256;
  opts.ack_timeout = std::chrono::seconds(2);
  opts.retry = retry_policy{3, {std::chrono::milliseconds(250), std::chrono::milliseconds(500)}};
  return opts;
}

stream_config dead_letter_stream_config(const dead_letter_options& opts) {
  stream_config cfg;
  cfg.name = opts.stream;
  cfg.subjects = {opts.subject_prefix + ".>"};
  cfg.description = "natscoro dead-letter queue";
  return cfg;
}

void create_stream_if_missing(const jetstream& js, const stream_config& cfg, std::function<void(error_code)> done) {
  access::api(js)->request("STREAM.INFO", {cfg.name}, "",
                           [js, cfg, done = std::move(done)](error_code ec, boost::json::value) {
                             if (ec != jetstream_errc::stream_not_found) return done(ec);
                             js.ensure_stream(cfg, [done](error_code ec, ensure_result) { done(ec); });
                           });
}

max_deliveries_mover::max_deliveries_mover(jetstream js, std::string stream, std::string consumer,
                                           dead_letter_options opts, std::shared_ptr<publisher> dlq,
                                           std::function<void()> on_moved)
    : js_(std::move(js)),
      stream_(std::move(stream)),
      consumer_(std::move(consumer)),
      opts_(std::move(opts)),
      dlq_(std::move(dlq)),
      on_moved_(std::move(on_moved)),
      retry_timer_(js_.get_executor()) {}

void max_deliveries_mover::start() {
  stream_config cfg;
  cfg.name = opts_.advisory_stream;
  cfg.subjects = {"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>"};
  cfg.description = "natscoro: max-deliveries advisories, for moving their messages to a dead-letter queue";
  cfg.max_age = std::chrono::hours(24 * 7);
  binding_ = true;
  create_stream_if_missing(js_, cfg, [self = shared_from_this()](error_code ec) {
    if (ec) return self->retry_or_give_up(ec, "stream " + self->opts_.advisory_stream);
    self->bind();
  });
}

// A server restarting or a link going down while the mover starts must not leave the
// advisories uncaptured for the rest of the run: such failures are tried again.
void max_deliveries_mover::retry_or_give_up(error_code ec, const std::string& what) {
  const bool passing = ec == nats_errc::timeout || ec == nats_errc::no_responders || ec == errc::not_connected ||
                       ec == nats_errc::connection_disconnected;
  if (!passing || stopping_) {
    logger()->error("max-deliveries advisories for {}/{} are not captured: {}: {}", stream_, consumer_, what,
                    ec.message());
    binding_ = false;
    return maybe_stopped();
  }
  logger()->warn("max-deliveries advisories for {}/{}: {}: {}; trying again in 1 s", stream_, consumer_, what,
                 ec.message());
  retry_timer_.expires_after(std::chrono::seconds(1));
  retry_timer_.async_wait([self = shared_from_this()](error_code timer_ec) {
    if (timer_ec || self->stopping_) {  // stop() cancelled it
      self->binding_ = false;
      return self->maybe_stopped();
    }
    self->start();
  });
}

void max_deliveries_mover::bind() {
  consumer_config cfg;
  cfg.durable = "natscoro_dlq_" + stream_ + "_" + consumer_;
  cfg.filter_subject = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + stream_ + "." + consumer_;
  consumer_options copts;
  copts.capacity = 8;
  js_.consumer(opts_.advisory_stream, cfg, copts, [self = shared_from_this()](error_code ec, natscoro::consumer c) {
    if (ec) return self->retry_or_give_up(ec, "its consumer");
    self->binding_ = false;
    self->advisories_ = std::move(c);
    self->bound_ = true;
    if (self->stopping_) return self->drain_advisories();
    self->take();
  });
}

void max_deliveries_mover::take() {
  advisories_.next([self = shared_from_this()](error_code ec, std::optional<message> m) {
    if (ec || !m) return self->maybe_stopped();  // drained, or the advisory consumer failed
    self->move(std::move(*m));
  });
}

void max_deliveries_mover::move(message advisory) {
  moving_ = true;
  std::uint64_t sequence = 0;
  std::uint64_t deliveries = 0;
  try {
    const auto doc = boost::json::parse(advisory.data()).as_object();
    sequence = doc.at("stream_seq").to_number<std::uint64_t>();
    deliveries = doc.at("deliveries").to_number<std::uint64_t>();
    if (doc.at("stream").as_string() != stream_ || doc.at("consumer").as_string() != consumer_)
      throw std::invalid_argument("it names another stream or consumer");
  } catch (const std::exception& e) {
    logger()->error("max-deliveries advisory on {} is not understood ({}); left alone", advisory.subject(), e.what());
    return finish_advisory(advisory, true);
  }
  // Anyone allowed to publish advisories could name a message the consumer has handled:
  // below the consumer's ack floor it was acknowledged (or terminated), and is not moved.
  js_.consumer_info(
      stream_, consumer_,
      [self = shared_from_this(), advisory, sequence, deliveries](error_code ec, consumer_info info) mutable {
        if (ec) {
          logger()->error("max-deliveries advisory for message {} of {}: consumer info failed: {}; trying again later",
                          sequence, self->stream_, ec.message());
          return self->finish_advisory(advisory, false);
        }
        if (sequence <= info.ack_floor_stream_sequence) {
          logger()->warn(
              "max-deliveries advisory for message {} of {}/{}, which the consumer acknowledged already "
              "(ack floor {}): ignored",
              sequence, self->stream_, self->consumer_, info.ack_floor_stream_sequence);
          return self->finish_advisory(advisory, true);
        }
        self->move_out_of_deliveries(std::move(advisory), sequence, deliveries);
      });
}

void max_deliveries_mover::move_out_of_deliveries(message advisory, std::uint64_t sequence, std::uint64_t deliveries) {
  fetch_stored_message(
      js_, stream_, sequence, false,
      [self = shared_from_this(), advisory, sequence, deliveries](error_code ec, stored_message msg) mutable {
        if (ec == jetstream_errc::no_message_found) {
          logger()->warn("message {} of {} ran out of deliveries but is gone from the stream", sequence, self->stream_);
          return self->finish_advisory(advisory, true);
        }
        if (ec) {
          logger()->error("message {} of {} ran out of deliveries and cannot be read: {}; trying again later", sequence,
                          self->stream_, ec.message());
          return self->finish_advisory(advisory, false);
        }
        failure_record failure{self->stream_,
                               msg.subject,
                               sequence,
                               self->consumer_,
                               deliveries,
                               "the consumer's max_deliver ran out after " + std::to_string(deliveries) +
                                   " deliveries without a handler result"};
        auto out =
            dead_letter_message(self->opts_.subject_prefix, std::move(msg.headers), std::move(msg.data), failure);
        self->dlq_->publish_raw(std::move(out), [self, advisory, sequence](error_code ec, pub_ack ack) mutable {
          if (ec) {
            logger()->error("moving message {} of {} to the dead-letter stream failed: {}; trying again later",
                            sequence, self->stream_, ec.message());
            return self->finish_advisory(advisory, false);
          }
          logger()->warn("message {} of {} ran out of deliveries; dead-lettered as {} #{}", sequence, self->stream_,
                         ack.stream, ack.sequence);
          if (self->on_moved_) self->on_moved_();
          self->finish_advisory(advisory, true);
        });
      });
}

void max_deliveries_mover::finish_advisory(message& advisory, bool done) {
  moving_ = false;
  error_code unsent;  // the advisory comes again after ack_wait: nothing to do but wait for it
  if (done) {
    advisory.ack(unsent);
  } else {
    advisory.nak(std::chrono::seconds(5), unsent);
  }
  if (stopping_) return maybe_stopped();
  take();
}

void max_deliveries_mover::stop(std::chrono::milliseconds grace, std::function<void()> on_stopped) {
  stopping_ = true;
  grace_ = grace;
  on_stopped_ = std::move(on_stopped);
  retry_timer_.cancel();
  if (bound_) return drain_advisories();
  maybe_stopped();
}

void max_deliveries_mover::drain_advisories() {
  advisories_.drain(grace_, [self = shared_from_this()](error_code) {
    self->bound_ = false;
    self->advisories_ = {};
    self->maybe_stopped();
  });
}

void max_deliveries_mover::maybe_stopped() {
  if (!stopping_ || binding_ || moving_ || bound_ || !on_stopped_) return;
  std::exchange(on_stopped_, nullptr)();
}

}  // namespace natscoro::detail
