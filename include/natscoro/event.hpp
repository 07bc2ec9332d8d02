// A CloudEvents 1.0 event, with the extensions natscoro's users need:
// organizationid (tenant), schemaversion, correlationid, causationid, and the
// distributed-tracing extension's W3C traceparent (in `extensions`).
#pragma once

#include <natscoro/error.hpp>

#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace natscoro {

/// How an event travels in a NATS message (CloudEvents NATS protocol binding).
enum class event_encoding {
  structured,  ///< the whole event as JSON in the body; header Content-Type: application/cloudevents+json
  binary,      ///< attributes in "ce-" headers (percent-encoded), data alone in the body
};

struct event {
  using clock = std::chrono::system_clock;

  std::string specversion = "1.0";
  std::string id;            ///< unique per source; make() draws a UUID v4
  std::string source;        ///< URI-reference of the producer; the publisher fills it in when empty
  std::string type;          ///< e.g. "user.created"
  clock::time_point time{};  ///< UTC; encoded as RFC 3339 with microseconds
  std::string datacontenttype = "application/json";
  std::optional<std::string> subject;  ///< CloudEvents "subject": what the event is about (not the NATS subject)
  std::optional<std::string> dataschema;

  std::string organizationid;  ///< tenant; required unless the publisher says otherwise
  std::string schemaversion = "1.0";
  std::optional<std::string> correlationid;
  std::optional<std::string> causationid;
  /// Further extension attributes (names: lower-case letters and digits, at most 20).
  std::map<std::string, std::string> extensions;

  boost::json::value data;

  /// A new event: fresh UUID v4 id, time now, data converted with boost::json::value_from.
  template <class T>
  static event make(std::string type, std::string organization, const T& data) {
    event e = make(std::move(type), std::move(organization));
    e.data = boost::json::value_from(data);
    return e;
  }
  static event make(std::string type, std::string organization);

  /// A new event caused by this one (a handler's follow-up): fresh id and time,
  /// the same tenant, correlationid this one's (or its id when it has none),
  /// causationid its id, and, when it carries a traceparent, the same trace
  /// continued with a new span (tracestate copied). Data and source are left empty.
  event follow_up(std::string type) const;

  /// Starts a W3C trace at this event (extension "traceparent", sampled, random
  /// ids) unless it carries one already. It then travels with the event, through
  /// the stream, to the handlers, and into their follow_up()s.
  void start_trace();

  /// The data converted with boost::json::value_to; throws natscoro::error (invalid_event) if it does not fit.
  template <class T>
  T data_as() const {
    try {
      return boost::json::value_to<T>(data);
    } catch (const std::exception& e) {
      throw error(make_error_code(errc::invalid_event), std::string("data does not convert: ") + e.what());
    }
  }

  /// Checks the attributes (required ones present, extension names valid, a
  /// traceparent one that W3C's format allows).
  /// Returns the error and sets `detail` to the attribute and the problem.
  error_code validate(std::string& detail, bool require_organization = true) const;
  /// validate(), throwing natscoro::error.
  void check(bool require_organization = true) const;

  friend bool operator==(const event&, const event&) = default;
};

/// Whether `name` can name an extension attribute: lower-case letters and digits, at most 20.
bool valid_extension_name(std::string_view name);

/// A fresh UUID v4 (Boost.UUID) as text.
std::string new_event_id();

/// The event as CloudEvents structured-mode JSON, on one line.
std::string to_structured_json(const event& e);

/// RFC 3339 text of `t` in UTC with microseconds, e.g. "2026-11-23T10:00:00.123456Z".
std::string format_rfc3339(event::clock::time_point t);
/// Parses RFC 3339 ("Z" or a numeric offset; any sub-second precision). Empty on error.
std::optional<event::clock::time_point> parse_rfc3339(std::string_view text);

}  // namespace natscoro
