#include <natscoro/error.hpp>

#include <nats/nats.h>

#include <string>

namespace natscoro {
namespace {

// nats_errc mirrors natsStatus; a mismatch would misreport errors silently.
static_assert(static_cast<int>(nats_errc::protocol_error) == NATS_PROTOCOL_ERROR);
static_assert(static_cast<int>(nats_errc::io_error) == NATS_IO_ERROR);
static_assert(static_cast<int>(nats_errc::connection_closed) == NATS_CONNECTION_CLOSED);
static_assert(static_cast<int>(nats_errc::no_server) == NATS_NO_SERVER);
static_assert(static_cast<int>(nats_errc::connection_disconnected) == NATS_CONNECTION_DISCONNECTED);
static_assert(static_cast<int>(nats_errc::authorization_failed) == NATS_CONNECTION_AUTH_FAILED);
static_assert(static_cast<int>(nats_errc::not_permitted) == NATS_NOT_PERMITTED);
static_assert(static_cast<int>(nats_errc::address_missing) == NATS_ADDRESS_MISSING);
static_assert(static_cast<int>(nats_errc::invalid_subject) == NATS_INVALID_SUBJECT);
static_assert(static_cast<int>(nats_errc::invalid_argument) == NATS_INVALID_ARG);
static_assert(static_cast<int>(nats_errc::max_payload) == NATS_MAX_PAYLOAD);
static_assert(static_cast<int>(nats_errc::timeout) == NATS_TIMEOUT);
static_assert(static_cast<int>(nats_errc::ssl_error) == NATS_SSL_ERROR);
static_assert(static_cast<int>(nats_errc::no_server_support) == NATS_NO_SERVER_SUPPORT);
static_assert(static_cast<int>(nats_errc::not_yet_connected) == NATS_NOT_YET_CONNECTED);
static_assert(static_cast<int>(nats_errc::no_responders) == NATS_NO_RESPONDERS);

// Boost.System compares categories by these ids when they are non-zero, so
// error codes compare equal across shared-library boundaries.
class library_category_impl final : public boost::system::error_category {
 public:
  constexpr library_category_impl() noexcept : error_category(0x6e61747363726f01ULL) {}
  const char* name() const noexcept override { return "natscoro"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::not_connected:
        return "not connected to NATS";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::invalid_subject:
        return "invalid subject";
      case errc::payload_too_large:
        return "payload larger than the server's max_payload";
      case errc::invalid_event:
        return "invalid event";
      case errc::publish_timeout:
        return "no PubAck before the timeout";
      case errc::no_stream:
        return "no stream is bound to the subject";
      case errc::closing:
        return "closing";
      case errc::invalid_url:
        return "invalid server URL";
      case errc::config_mismatch:
        return "exists with another configuration";
      case errc::replay_refused:
        return "replay refused: the entry's subject is not one its stream covers";
      case errc::out_of_range:
        return "number or time out of range";
      case errc::outbox_full:
        return "the outbox is full (quota or disk): the event was not stored";
      case errc::outbox_corrupt:
        return "the outbox file is not a database, or is damaged";
      case errc::database_unavailable:
        return "the outbox's database cannot be reached";
      case errc::database_error:
        return "the outbox's database refused a statement";
    }
    return "natscoro error " + std::to_string(value);
  }
};

class nats_category_impl final : public boost::system::error_category {
 public:
  constexpr nats_category_impl() noexcept : error_category(0x6e61747363726f02ULL) {}
  const char* name() const noexcept override { return "nats"; }
  std::string message(int value) const override {
    switch (static_cast<nats_errc>(value)) {
      case nats_errc::no_server:
        return "server unreachable (no server available for connection)";
      case nats_errc::authorization_failed:
        return "authorization violation (the server refused the credentials)";
      case nats_errc::ssl_error:
        return "TLS error (handshake or certificate verification failed)";
      case nats_errc::address_missing:
        return "invalid server URL (no host)";
      case nats_errc::not_permitted:
        return "permissions violation";
      default:
        return natsStatus_GetText(static_cast<natsStatus>(value));
    }
  }
};

class jetstream_category_impl final : public boost::system::error_category {
 public:
  constexpr jetstream_category_impl() noexcept : error_category(0x6e61747363726f03ULL) {}
  const char* name() const noexcept override { return "jetstream"; }
  std::string message(int value) const override {
    switch (static_cast<jetstream_errc>(value)) {
      case jetstream_errc::consumer_not_found:
        return "consumer not found";
      case jetstream_errc::no_message_found:
        return "no message found";
      case jetstream_errc::message_too_large:
        return "message larger than the stream's max_msg_size";
      case jetstream_errc::stream_name_in_use:
        return "stream name already in use with another configuration";
      case jetstream_errc::stream_not_found:
        return "stream not found";
      case jetstream_errc::stream_not_match:
        return "expected stream does not match";
      case jetstream_errc::subjects_overlap:
        return "subjects overlap with an existing stream";
      case jetstream_errc::wrong_last_msg_id:
        return "wrong last message id";
      case jetstream_errc::wrong_last_sequence:
        return "wrong last sequence";
      case jetstream_errc::jetstream_not_enabled:
        return "JetStream not enabled";
    }
    return "JetStream API error " + std::to_string(value);
  }
};

}  // namespace

const boost::system::error_category& library_category() noexcept {
  static const library_category_impl instance;
  return instance;
}
const boost::system::error_category& nats_category() noexcept {
  static const nats_category_impl instance;
  return instance;
}
const boost::system::error_category& jetstream_category() noexcept {
  static const jetstream_category_impl instance;
  return instance;
}

}  // namespace natscoro
