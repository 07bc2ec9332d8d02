#include <natscoro/detail/access.hpp>
#include <natscoro/detail/connection_core.hpp>
#include <natscoro/detail/consumer_core.hpp>
#include <natscoro/detail/exposition.hpp>
#include <natscoro/detail/outbox_core.hpp>
#include <natscoro/detail/run_counters.hpp>
#include <natscoro/metrics.hpp>
#include <natscoro/units.hpp>

namespace natscoro {
namespace {

std::string_view status_name(connection_status s) {
  switch (s) {
    case connection_status::connecting:
      return "connecting";
    case connection_status::connected:
      return "connected";
    case connection_status::reconnecting:
      return "reconnecting";
    case connection_status::draining:
      return "draining";
    case connection_status::closed:
      return "closed";
  }
  return "unknown";
}

}  // namespace

void metrics::add_source(source s, check c) {
  std::lock_guard lock(mutex_);
  sources_.push_back(std::move(s));
  if (c) checks_.push_back(std::move(c));
}

void metrics::add(std::string name, const connection& conn) {
  add_source(
      [weak = std::weak_ptr(detail::access::core(conn)), name](detail::exposition& out) {
        const auto core = weak.lock();
        if (!core) return false;
        const detail::exposition::labels l{{"connection", name}};
        const auto status = core->status();
        out.gauge("natscoro_connection_connected", "1 while the connection has a link to a server", l,
                  status == connection_status::connected || status == connection_status::draining ? 1 : 0);
        out.counter("natscoro_connection_reconnects_total", "links restored after a loss", l,
                    static_cast<double>(core->reconnects()));
        return true;
      },
      [weak = std::weak_ptr(detail::access::core(conn)), name](std::chrono::milliseconds,
                                                               std::vector<std::string>& out) {
        const auto core = weak.lock();
        if (!core) return false;
        if (const auto status = core->status(); status != connection_status::connected)
          out.push_back("connection " + name + " has no link to a server (" + std::string(status_name(status)) + ")");
        return true;
      });
}

void metrics::add(std::string name, const publisher& pub) {
  add_source([weak = std::weak_ptr(detail::access::core(pub)), name = std::move(name)](detail::exposition& out) {
    const auto core = weak.lock();
    if (!core) return false;
    const auto s = detail::stats_of(*core);
    const detail::exposition::labels l{{"publisher", name}};
    out.counter("natscoro_publisher_published_total", "publishes started", l, static_cast<double>(s.published));
    out.counter("natscoro_publisher_acknowledged_total", "PubAcks received (duplicates included)", l,
                static_cast<double>(s.acknowledged));
    out.counter("natscoro_publisher_duplicates_total", "PubAcks saying the stream had the event already", l,
                static_cast<double>(s.duplicates));
    out.counter("natscoro_publisher_retried_total", "attempts after the first", l, static_cast<double>(s.retried));
    out.counter("natscoro_publisher_failed_total", "publishes completed with an error", l,
                static_cast<double>(s.failed));
    out.gauge("natscoro_publisher_in_flight", "publishes sent and waiting for their PubAck", l,
              static_cast<double>(s.in_flight));
    out.gauge("natscoro_publisher_waiting", "publishes waiting for room in the window", l,
              static_cast<double>(s.waiting));
    out.histogram("natscoro_publisher_ack_latency_seconds", "from publish() to its PubAck, retries included", l,
                  s.ack_latency);
    return true;
  });
}

void metrics::add(std::string name, const consumer& cons) {
  add_source([weak = std::weak_ptr(detail::access::core(cons)),
              weak_run = std::weak_ptr(detail::access::run_counters_of(cons)),
              name = std::move(name)](detail::exposition& out) {
    const auto core = weak.lock();
    if (!core) return false;
    const auto s = core->stats();
    const detail::exposition::labels l{{"consumer", name}, {"stream", core->stream()}, {"durable", core->name()}};
    out.counter("natscoro_consumer_delivered_total", "messages received from the server", l,
                static_cast<double>(s.delivered));
    out.counter("natscoro_consumer_redelivered_total", "deliveries of messages delivered before", l,
                static_cast<double>(s.redelivered));
    out.counter("natscoro_consumer_pulls_total", "pull requests sent", l, static_cast<double>(s.pulls));
    out.counter("natscoro_consumer_repulls_total", "pulls made afresh after a reconnect or missed heartbeats", l,
                static_cast<double>(s.repulls));
    out.gauge("natscoro_consumer_held", "messages received and not yet handed out", l, static_cast<double>(s.held));
    out.gauge("natscoro_consumer_pending_messages",
              "the consumer's lag: messages in the stream not yet delivered to it (num_pending)", l,
              static_cast<double>(s.pending));
    if (const auto run = weak_run.lock()) {
      const auto r = run->snapshot();
      out.counter("natscoro_runner_handled_total", "handlers that succeeded", l, static_cast<double>(r.handled));
      out.counter("natscoro_runner_failed_attempts_total", "handler attempts that threw", l,
                  static_cast<double>(r.failed_attempts));
      out.counter("natscoro_runner_retried_total", "attempts made again", l, static_cast<double>(r.retried));
      out.counter("natscoro_runner_dead_lettered_total", "messages stored in the dead-letter queue", l,
                  static_cast<double>(r.dead_lettered + r.moved_by_advisory));
      out.counter("natscoro_runner_dead_letter_failures_total", "dead-letter publishes that failed", l,
                  static_cast<double>(r.dead_letter_failures));
      out.counter("natscoro_runner_terminated_total", "out of attempts with no dead-letter queue", l,
                  static_cast<double>(r.terminated));
      out.counter("natscoro_runner_given_back_total", "messages given back by a drain", l,
                  static_cast<double>(r.given_back));
      out.gauge("natscoro_runner_dead_letter_queue_messages",
                "messages in the run's dead-letter stream (read every 10 s and after each dead-letter)", l,
                static_cast<double>(r.dead_letter_queue_messages));
      out.gauge("natscoro_runner_in_flight", "handlers running now", l, static_cast<double>(r.in_flight));
      out.gauge("natscoro_runner_queued", "messages received and waiting for their turn", l,
                static_cast<double>(r.queued));
      out.histogram("natscoro_runner_stream_to_handled_seconds",
                    "from the stream storing a message to its handler succeeding", l, r.stream_to_handled);
    }
    return true;
  });
}

void metrics::add(std::string name, const detail::outbox_handle& box) {
  add_source(
      [weak = std::weak_ptr(detail::access::core(box)), name](detail::exposition& out) {
        const auto core = weak.lock();
        if (!core) return false;
        const auto s = core->stats();
        const detail::exposition::labels l{{"outbox", name}};
        out.gauge("natscoro_outbox_pending", "events stored and not yet relayed", l, static_cast<double>(s.pending));
        out.gauge("natscoro_outbox_pending_bytes", "what the pending events count against max_bytes", l,
                  static_cast<double>(s.pending_bytes));
        out.gauge("natscoro_outbox_oldest_pending_age_seconds", "how long the oldest pending event has waited", l,
                  std::chrono::duration<double>(s.oldest_pending_age).count());
        out.counter("natscoro_outbox_stored_total", "events made durable", l, static_cast<double>(s.stored));
        out.counter("natscoro_outbox_relayed_total", "events PubAck'd and removed", l, static_cast<double>(s.relayed));
        out.counter("natscoro_outbox_failed_total", "relay publishes that failed (the event goes again)", l,
                    static_cast<double>(s.failed));
        out.counter("natscoro_outbox_refused_total", "events the relay will never publish", l,
                    static_cast<double>(s.refused));
        return true;
      },
      [weak = std::weak_ptr(detail::access::core(box)), name](std::chrono::milliseconds max_age,
                                                              std::vector<std::string>& out) {
        const auto core = weak.lock();
        if (!core) return false;
        const auto age = core->stats().oldest_pending_age;
        if (age > max_age)
          out.push_back("outbox " + name + ": the oldest pending event has waited " + format_duration(age) + " (over " +
                        format_duration(max_age) + ")");
        return true;
      });
}

std::vector<std::string> metrics::problems(std::chrono::milliseconds max_outbox_age) const {
  std::vector<std::string> out;
  std::lock_guard lock(mutex_);
  std::erase_if(checks_, [&](const check& c) { return !c(max_outbox_age, out); });
  return out;
}

std::string metrics::exposition() const {
  detail::exposition out;
  std::lock_guard lock(mutex_);
  std::erase_if(sources_, [&](const source& s) { return !s(out); });
  return out.text();
}

}  // namespace natscoro
