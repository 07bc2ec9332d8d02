// libFuzzer target: subject templates (operator input) rendered with event values
// (application input). Whatever they hold, a rendered subject is one NATS accepts
// for a publish, and a key never spans tokens.
#include <natscoro/detail/names.hpp>
#include <natscoro/detail/subject_template.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // "<template>\n<key>\n<type>": the key and the type as an event would carry them.
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto first = input.find('\n');
  const auto second = first == std::string_view::npos ? first : input.find('\n', first + 1);
  const auto text = input.substr(0, first);
  const std::string key(first == std::string_view::npos ? std::string_view()
                                                        : input.substr(first + 1, second - first - 1));
  const std::string type(second == std::string_view::npos ? std::string_view() : input.substr(second + 1));

  natscoro::detail::subject_template t;
  std::string detail;
  if (natscoro::detail::subject_template::parse(text, t, detail)) return 0;
  natscoro::event e;
  e.id = "fuzz";
  e.type = type;
  e.subject = key;
  e.organizationid = key;
  e.extensions["ext"] = key;
  std::string out;
  if (t.render(e, out, detail)) return 0;
  if (!natscoro::detail::valid_publish_subject(out)) std::abort();
  // A key that rendered is one token: the template with "K" in its place has as many tokens.
  natscoro::event plain = e;
  plain.subject = plain.organizationid = plain.extensions["ext"] = "K";
  std::string reference;
  if (!t.render(plain, reference, detail)) {
    const auto tokens = [](std::string_view s) { return std::count(s.begin(), s.end(), '.'); };
    if (tokens(out) != tokens(reference)) std::abort();
  }
  return 0;
}
