// replay: a range of a stream, one JSON line per message.
#include "cli.hpp"

#include <natscoro/detail/log_text.hpp>
#include <natscoro/detail/names.hpp>
#include <natscoro/detail/replay_cursor.hpp>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>

namespace natscoro_cli {

namespace {

// A replay bound: digits are a stream sequence, anything else RFC 3339 time.
nc::stream_position position_argument(const std::string& what, const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos)
    return number_argument(what, text, 1, UINT64_MAX);
  if (auto t = nc::parse_rfc3339(text)) return *t;
  throw usage_error(what + ": expected a stream sequence or an RFC 3339 time (2026-11-30T08:00:00Z), got \"" +
                    nc::detail::printable(text) + "\"");
}

}  // namespace

command replay_command(const std::vector<std::string>& args) {
  po::options_description o("replay options");
  o.add_options()("from", po::value<std::string>(), "first sequence or time (default: the stream's start)")(
      "to", po::value<std::string>(), "last sequence or time (default: the stream's last message now)")(
      "filter", po::value<std::string>(), "only messages on this subject (wildcards allowed)")(
      "envelope", po::value<std::string>()->default_value("cloudevents"),
      "how to read the events: cloudevents, plain (the body is JSON data) or raw");
  const auto vm = parse_command("replay", args, {"STREAM"}, o);
  nc::replay_range range;
  if (vm.count("from")) range.from = position_argument("--from", vm["from"].as<std::string>());
  if (vm.count("to")) range.to = position_argument("--to", vm["to"].as<std::string>());
  if (vm.count("filter")) range.filter_subject = vm["filter"].as<std::string>();
  if (std::string detail;
      vm.count("filter") && nc::detail::check_filter_subject("--filter", range.filter_subject, detail))
    throw usage_error(detail);
  if (const auto problem = nc::detail::replay_cursor(range, 0).check(); !problem.empty()) throw usage_error(problem);
  nc::replay_options opts;
  const std::string envelope = vm["envelope"].as<std::string>();
  if (envelope == "plain")
    opts.envelope = nc::envelope::plain_json();
  else if (envelope == "raw")
    opts.envelope = nc::envelope::raw();
  else if (envelope != "cloudevents")
    throw usage_error("--envelope: cloudevents, plain or raw, not \"" + nc::detail::printable(envelope) + "\"");
  return [stream = name_argument("stream name", vm["STREAM"].as<std::string>()), range,
          opts](nc::jetstream& js) -> asio::awaitable<int> {
    auto r = co_await nc::replay::open(js, stream, range, opts, asio::use_awaitable);
    asio::signal_set signals(js.get_executor(), SIGINT, SIGTERM);
    signals.async_wait([r](const boost::system::error_code& ec, int) mutable {
      if (!ec) r.close([](nc::error_code) {});
    });
    int status = ok;
    while (auto m = co_await r.next(asio::use_awaitable)) {
      const auto& md = m->metadata();
      json::object line{{"stream_sequence", md.stream_sequence},
                        {"subject", m->subject()},
                        {"stored", nc::format_rfc3339(md.timestamp)}};
      nc::event evt;
      std::string why;
      if (m->decode(evt, why)) {
        line["error"] = why;
        status = failure;
        std::cout << json::serialize(line) << "\n";
        continue;
      }
      // JSON escapes control characters: nothing from the stream reaches the terminal raw.
      std::string text = json::serialize(line);
      text.pop_back();
      std::cout << text << ",\"event\":" << nc::to_structured_json(evt) << "}\n";
    }
    signals.cancel();
    std::cerr << "natscoro replay: " << r.stats().delivered << " messages up to sequence " << r.stats().end_sequence
              << "\n";
    co_return status;
  };
}

}  // namespace natscoro_cli
