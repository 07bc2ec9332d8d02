// Owning handles and small helpers for nats.c messages.
#pragma once

#include <natscoro/detail/envelope_codec.hpp>

#include <nats/nats.h>

#include <memory>
#include <string>
#include <string_view>

namespace natscoro::detail {

struct nats_msg_deleter {
  void operator()(natsMsg* m) const noexcept { natsMsg_Destroy(m); }
};
using nats_msg_ptr = std::unique_ptr<natsMsg, nats_msg_deleter>;

inline std::string_view message_data(natsMsg* m) {
  return {natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m))};
}

/// Every header of `m` (empty if it has none).
header_list message_headers(natsMsg* m);

/// The value of header `name`, or empty.
std::string message_header(natsMsg* m, const char* name);

/// Size of a message as the server counts it against max_payload: headers and body.
std::size_t wire_payload_size(const header_list& headers, std::string_view body);

/// Creates a message with `headers`; null (with `status`) on failure.
nats_msg_ptr make_message(const std::string& subject, const char* reply, std::string_view body,
                          const header_list& headers, natsStatus& status);

}  // namespace natscoro::detail
