#include <natscoro/detail/log_text.hpp>

namespace natscoro::detail {

std::string printable(std::string_view text, std::size_t limit) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  const auto shown = text.substr(0, limit);
  out.reserve(shown.size() + 16);
  for (std::size_t i = 0; i < shown.size(); ++i) {
    const auto c = static_cast<unsigned char>(shown[i]);
    const auto next = i + 1 < shown.size() ? static_cast<unsigned char>(shown[i + 1]) : 0;
    if (c == 0xc2 && next >= 0x80 && next <= 0x9f) {  // a C1 control in UTF-8 (U+009B is a CSI)
      out += "\\u00";
      out += hex[next >> 4];
      out += hex[next & 0xf];
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > limit) out += "...(" + std::to_string(text.size()) + " bytes)";
  return out;
}

std::string redact_credentials(std::string_view text) {
  std::string out;
  std::size_t done = 0;
  for (auto scheme_end = text.find("://"); scheme_end != std::string_view::npos;
       scheme_end = text.find("://", scheme_end + 3)) {
    const std::size_t start = scheme_end + 3;
    // The authority ends at the first '/', '?', '#', whitespace, quote or comma: user information is before an '@' in
    // it.
    const std::size_t end = text.find_first_of("/?# \t\r\n\"',;", start);
    const auto authority = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    const auto at = authority.rfind('@');
    if (at == std::string_view::npos) continue;
    const auto userinfo = authority.substr(0, at);
    const auto colon = userinfo.find(':');
    out.append(text.substr(done, start - done));
    if (colon != std::string_view::npos) out.append(userinfo.substr(0, colon)).append(":");
    out.append("***");
    done = start + at;  // from the '@' on
  }
  out.append(text.substr(done));
  return out;
}

std::string safe_log_text(std::string_view text) { return printable(redact_credentials(text), 16 * 1024); }

}  // namespace natscoro::detail
