#include <natscoro/detail/log_text.hpp>
#include <natscoro/detail/names.hpp>

namespace natscoro::detail {
namespace {

bool control_or_space(unsigned char c) { return c <= 0x20 || c == 0x7f; }

// Splits off the first token of `s` (up to a dot); `s` keeps the rest.
std::string_view next_token(std::string_view& s) {
  const auto dot = s.find('.');
  const auto token = s.substr(0, dot);
  s = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  return token;
}

// The checks shared by subjects and filters; `wildcards`: '*' and a last '>' allowed as tokens.
bool valid_subject(std::string_view subject, bool wildcards) {
  if (subject.empty() || subject.front() == '.' || subject.back() == '.') return false;
  std::string_view rest = subject;
  while (!rest.empty()) {
    const bool last = rest.find('.') == std::string_view::npos;
    const auto token = next_token(rest);
    if (token.empty()) return false;
    if (wildcards && (token == "*" || (token == ">" && last))) continue;
    for (unsigned char c : token)
      if (control_or_space(c) || c == '*' || c == '>') return false;
  }
  return true;
}

}  // namespace

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > max_name_length) return false;
  for (unsigned char c : name)
    if (control_or_space(c) || c == '.' || c == '*' || c == '>' || c == '/' || c == '\\') return false;
  return true;
}

bool valid_publish_subject(std::string_view subject) { return valid_subject(subject, false); }

bool valid_filter_subject(std::string_view filter) { return valid_subject(filter, true); }

bool subject_matches(std::string_view subject, std::string_view filter) {
  while (!subject.empty() && !filter.empty()) {
    const auto s = next_token(subject), f = next_token(filter);
    if (f == ">") return true;
    if (f != "*" && f != s) return false;
  }
  return subject.empty() && filter.empty();
}

bool subjects_overlap(std::string_view a, std::string_view b) {
  while (!a.empty() && !b.empty()) {
    const auto x = next_token(a), y = next_token(b);
    if (x == ">" || y == ">") return true;
    if (x != "*" && y != "*" && x != y) return false;
  }
  return a.empty() && b.empty();
}

bool reserved_subject(std::string_view subject) {
  return subject.starts_with('$') || subject.starts_with("_INBOX.") || subject == "_INBOX";
}

error_code check_name(std::string_view what, std::string_view name, std::string& detail) {
  if (valid_name(name)) return {};
  detail =
      std::string(what) + " \"" + printable(name, 64) + "\" is not a valid name (" +
      (name.empty()                    ? std::string("empty")
       : name.size() > max_name_length ? "longer than " + std::to_string(max_name_length) + " bytes"
                                       : std::string("no '.', '*', '>', '/', '\\', spaces or control characters")) +
      ")";
  return make_error_code(errc::invalid_argument);
}

error_code check_filter_subject(std::string_view what, std::string_view subject, std::string& detail) {
  if (valid_filter_subject(subject)) return {};
  detail = std::string(what) + " \"" + printable(subject, 128) +
           "\" is not a subject (non-empty tokens; '*' and a last '>' only as whole tokens; no spaces or control "
           "characters)";
  return make_error_code(errc::invalid_subject);
}

}  // namespace natscoro::detail
