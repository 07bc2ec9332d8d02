#include <natscoro/detail/nats_message.hpp>

#include <cstdlib>

namespace natscoro::detail {

header_list message_headers(natsMsg* m) {
  header_list out;
  const char** keys = nullptr;
  int count = 0;
  if (natsMsgHeader_Keys(m, &keys, &count) != NATS_OK) return out;
  for (int i = 0; i < count; ++i) {
    const char** values = nullptr;
    int n = 0;
    if (natsMsgHeader_Values(m, keys[i], &values, &n) == NATS_OK) {
      for (int j = 0; j < n; ++j) out.emplace_back(keys[i], values[j]);
      std::free(static_cast<void*>(values));
    }
  }
  std::free(static_cast<void*>(keys));
  return out;
}

std::string message_header(natsMsg* m, const char* name) {
  const char* value = nullptr;
  return natsMsgHeader_Get(m, name, &value) == NATS_OK && value != nullptr ? std::string(value) : std::string();
}

std::size_t wire_payload_size(const header_list& headers, std::string_view body) {
  std::size_t size = headers.empty() ? 0 : std::string_view("NATS/1.0\r\n\r\n").size();
  for (const auto& [k, v] : headers) size += k.size() + 2 + v.size() + 2;
  return size + body.size();
}

nats_msg_ptr make_message(const std::string& subject, const char* reply, std::string_view body,
                          const header_list& headers, natsStatus& status) {
  natsMsg* raw = nullptr;
  status = natsMsg_Create(&raw, subject.c_str(), reply, body.data(), static_cast<int>(body.size()));
  if (status != NATS_OK) return nullptr;
  nats_msg_ptr msg(raw);
  for (const auto& [k, v] : headers) {
    status = natsMsgHeader_Add(raw, k.c_str(), v.c_str());
    if (status != NATS_OK) return nullptr;
  }
  return msg;
}

}  // namespace natscoro::detail
