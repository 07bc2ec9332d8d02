// libFuzzer target: the CloudEvents decoder, structured and binary mode. The first
// byte picks the mode; in binary mode, "name: value" lines up to a blank line are
// the headers and the rest is the body. Any result is fine; a crash, a leak, UB or
// an exception escaping is a bug.
#include <natscoro/detail/envelope_codec.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  natscoro::detail::header_list headers;
  if (data[0] & 1) {
    headers.emplace_back("ce-specversion", "1.0");
    while (!input.empty()) {
      const auto end = input.find('\n');
      const auto line = input.substr(0, end);
      input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
      if (line.empty()) break;
      const auto colon = line.find(':');
      headers.emplace_back(std::string(line.substr(0, colon)),
                           colon == std::string_view::npos ? std::string() : std::string(line.substr(colon + 1)));
    }
  }
  natscoro::event out;
  std::string detail;
  if (!natscoro::detail::decode_event(headers, input, out, detail)) {
    // What decodes must encode again, in both modes.
    (void)natscoro::detail::encode_event(out, natscoro::event_encoding::structured);
    (void)natscoro::detail::encode_event(out, natscoro::event_encoding::binary);
  }
  return 0;
}
