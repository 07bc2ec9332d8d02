// libFuzzer target: the ack-subject parser (message metadata from "$JS.ACK.…").
#include <natscoro/message_metadata.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)natscoro::message_metadata::parse(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
