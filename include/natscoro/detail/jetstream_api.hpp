// JetStream API messages: JSON in and out. Pure functions, unit-tested without a server.
#pragma once

#include <natscoro/consumer_config.hpp>
#include <natscoro/jetstream.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace natscoro::detail {

/// The "error" of an API reply, as an error code (jetstream_category) and the
/// server's description; no error for a reply without one.
error_code api_error(const boost::json::value& reply, std::string& description);

/// Parses a PubAck (`{"stream":..,"seq":..,"duplicate":..}` or an error reply).
error_code parse_pub_ack(std::string_view body, pub_ack& out, std::string& detail);

boost::json::object to_json(const stream_config& cfg);

boost::json::object to_json(const consumer_config& cfg);

/// The configurations a stream or consumer info reports (its "config" object).
stream_config stream_config_from_json(const boost::json::object& o);
consumer_config consumer_config_from_json(const boost::json::object& o);

/// A field whose value on the server differs from the wanted configuration.
struct config_difference {
  std::string field;   ///< the JSON name, e.g. "ack_wait"
  std::string server;  ///< the server's value, as JSON text
  std::string wanted;  ///< ours, as JSON text
  bool updatable;      ///< nats-server 2.9 can change it on an existing consumer or stream
};

/// The fields of `wanted` that the server's consumer configuration (`server`, the "config"
/// object of a consumer info) does not match. Fields the server fills with defaults we did
/// not set are not differences.
std::vector<config_difference> compare(const consumer_config& wanted, const boost::json::object& server);

/// The same for a stream (`server`: the "config" object of a stream info). Subjects
/// compare as sets. Updatable: what nats-server 2.9 lets a stream update change.
std::vector<config_difference> compare(const stream_config& wanted, const boost::json::object& server);

/// "field: server X, wanted Y; ..." for error messages and logs.
std::string describe(const std::vector<config_difference>& differences);

}  // namespace natscoro::detail
