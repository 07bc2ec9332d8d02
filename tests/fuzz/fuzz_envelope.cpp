// libFuzzer target: every shipped envelope. The first byte picks one (CloudEvents
// structured, CloudEvents binary, plain JSON, raw, DelTran's JSON mapping);
// "name: value" lines up to a blank line are the headers (binary and raw), the
// rest is the body. Any result is fine; a crash, a leak, UB or an exception
// escaping is a bug. What decodes must pass the checks and encode again.
#include <natscoro/detail/envelope_codec.hpp>
#include <natscoro/envelope.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

const natscoro::envelope& pick(std::uint8_t selector) {
  static const natscoro::envelope envelopes[] = {
      natscoro::envelope::cloudevents(),
      natscoro::envelope::cloudevents(),
      natscoro::envelope::plain_json({.type_skip_tokens = 1}),
      natscoro::envelope::raw(),
      natscoro::envelope::json_mapping({.id = "/event_id",
                                        .type = "/event_type",
                                        .time = "/timestamp",
                                        .source = "/source",
                                        .schemaversion = "/version",
                                        .correlationid = "/metadata/correlation_id",
                                        .extensions = {{"userid", "/metadata/user_id"}}}),
  };
  return envelopes[selector % 5];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::uint8_t selector = data[0] % 5;
  natscoro::header_list headers;
  if (selector == 1 || selector == 3) {
    if (selector == 1) headers.emplace_back("ce-specversion", "1.0");
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
  natscoro::message_metadata md;
  md.stream = "EVENTS";
  md.stream_sequence = 42;
  natscoro::event out;
  std::string detail;
  if (!pick(selector).decode({"events.clearing.window.opened", headers, input, md}, out, detail)) {
    if (out.id.empty() || out.type.empty() || out.source.empty()) std::abort();
    (void)natscoro::detail::encode_event(out, natscoro::event_encoding::structured);
    (void)natscoro::detail::encode_event(out, natscoro::event_encoding::binary);
  }
  return 0;
}
