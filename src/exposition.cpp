#include <natscoro/detail/exposition.hpp>

#include <charconv>
#include <cmath>

namespace natscoro::detail {
namespace {

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buffer[400];  // fixed notation: a double can take over 300 digits
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v, std::chars_format::fixed);
  return ec == std::errc{} ? std::string(buffer, end) : "NaN";
}

}  // namespace

std::string exposition::escaped(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

exposition::family& exposition::family_of(std::string_view name, std::string_view help, std::string_view type) {
  for (auto& f : families_)
    if (f.name == name) return f;
  return families_.emplace_back(family{std::string(name), std::string(help), std::string(type), {}});
}

std::string exposition::sample(std::string_view name, const labels& l, double value) {
  std::string line(name);
  if (!l.empty()) {
    line += '{';
    for (std::size_t i = 0; i < l.size(); ++i) {
      if (i > 0) line += ',';
      line += l[i].first;
      line += "=\"" + escaped(l[i].second) + '"';
    }
    line += '}';
  }
  line += ' ' + number(value) + '\n';
  return line;
}

void exposition::counter(std::string_view name, std::string_view help, const labels& l, double value) {
  family_of(name, help, "counter").samples += sample(name, l, value);
}

void exposition::gauge(std::string_view name, std::string_view help, const labels& l, double value) {
  family_of(name, help, "gauge").samples += sample(name, l, value);
}

void exposition::histogram(std::string_view name, std::string_view help, const labels& l, const latency_histogram& h) {
  auto& f = family_of(name, help, "histogram");
  const std::string base(name);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= latency_histogram::bounds.size(); ++i) {
    cumulative += h.buckets[i];
    const std::string le = i < latency_histogram::bounds.size() ? number(latency_histogram::bounds[i]) : "+Inf";
    auto with_le = l;
    with_le.emplace_back("le", le);
    f.samples += sample(base + "_bucket", with_le, static_cast<double>(cumulative));
  }
  f.samples += sample(base + "_sum", l, h.sum_seconds);
  f.samples += sample(base + "_count", l, static_cast<double>(h.count));
}

std::string exposition::text() const {
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP " + f.name + ' ' + f.help + '\n';
    out += "# TYPE " + f.name + ' ' + f.type + '\n';
    out += f.samples;
  }
  return out;
}

}  // namespace natscoro::detail
