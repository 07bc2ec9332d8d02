#include <natscoro/detail/log_text.hpp>
#include <natscoro/detail/names.hpp>
#include <natscoro/detail/subject_template.hpp>

namespace natscoro::detail {
namespace {

bool one_token(std::string_view v) { return valid_publish_subject(v) && v.find('.') == std::string_view::npos; }

}  // namespace

error_code subject_template::parse(std::string_view text, subject_template& out, std::string& detail) {
  out.parts_.clear();
  const auto refuse = [&](std::string why) {
    detail = "subject template \"" + printable(text, 128) + "\": " + why;
    out.parts_.clear();
    return make_error_code(errc::invalid_argument);
  };
  std::size_t at = 0;
  std::string sample;  // the template with "x" for each placeholder: its literal parts checked in place
  while (at < text.size()) {
    const auto open = text.find('{', at);
    if (open != at) {
      const auto literal = text.substr(at, open == std::string_view::npos ? std::string_view::npos : open - at);
      out.parts_.push_back({false, std::string(literal)});
      sample += literal;
      if (open == std::string_view::npos) break;
    }
    const auto close = text.find('}', open);
    if (close == std::string_view::npos) return refuse("a '{' is not closed");
    const std::string name(text.substr(open + 1, close - open - 1));
    if (name != "type" && name != "subject" && name != "organization" && !valid_extension_name(name))
      return refuse("unknown placeholder {" + printable(name, 32) +
                    "} (type, subject, organization, or an extension name)");
    out.parts_.push_back({true, name});
    sample += 'x';
    at = close + 1;
  }
  if (!out.parts_.empty() && !valid_publish_subject(sample))
    return refuse("its literal text cannot make a subject (no empty tokens, wildcards, spaces or control characters)");
  if (out.parts_.empty()) return refuse("it is empty");
  return {};
}

error_code subject_template::render(const event& evt, std::string& out, std::string& detail) const {
  out.clear();
  for (const auto& p : parts_) {
    if (!p.placeholder) {
      out += p.text;
      continue;
    }
    std::string_view value;
    if (p.text == "type") {
      value = evt.type;
    } else if (p.text == "subject") {
      value = evt.subject ? std::string_view(*evt.subject) : std::string_view();
    } else if (p.text == "organization") {
      value = evt.organizationid;
    } else if (const auto ext = evt.extensions.find(p.text); ext != evt.extensions.end()) {
      value = ext->second;
    }
    const bool fits = p.text == "type" ? valid_publish_subject(value) : one_token(value);
    if (!fits) {
      detail = "event " + evt.id + ": {" + p.text + "} is " +
               (value.empty() ? std::string("missing")
                              : "\"" + printable(value, 64) + "\", which cannot be " +
                                    (p.text == "type" ? "subject tokens" : "one subject token"));
      return make_error_code(errc::invalid_subject);
    }
    out += value;
  }
  if (!valid_publish_subject(out)) {
    detail =
        "event " + evt.id + ": the template makes \"" + printable(out, 128) + "\", not a subject one can publish to";
    return make_error_code(errc::invalid_subject);
  }
  return {};
}

}  // namespace natscoro::detail
