// dlq: the dead-letter queue: list, show, replay.
#include "cli.hpp"

#include <natscoro/detail/log_text.hpp>

#include <boost/asio/use_awaitable.hpp>

#include <iomanip>
#include <iostream>

namespace natscoro_cli {

command dlq_command(const std::vector<std::string>& args) {
  group_help("dlq", args);
  if (args.empty()) throw usage_error("dlq: ls, show or replay?");
  const std::string verb = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  po::options_description o("options");
  if (verb == "ls") {
    o.add_options()("limit", po::value<std::string>()->default_value("100"), "at most this many (1 to 10000)")(
        "from", po::value<std::string>()->default_value("1"), "from this sequence on")("json", "JSON for scripts");
    const auto vm = parse_command("dlq ls", rest, {"STREAM"}, o);
    const auto limit = number_argument("--limit", vm["limit"].as<std::string>(), 1, 10'000);
    const auto from =
        number_argument("--from", vm["from"].as<std::string>(), 1, std::numeric_limits<std::int64_t>::max());
    return [stream = name_argument("stream name", vm["STREAM"].as<std::string>()), limit, from,
            as_json = vm.count("json") > 0](nc::jetstream& js) -> asio::awaitable<int> {
      nc::dead_letter_queue dlq{js, stream};
      json::array out;
      if (!as_json)
        std::cout << std::left << std::setw(8) << "SEQ" << std::setw(36) << "ORIGINAL" << std::setw(28) << "FAILED AT"
                  << std::setw(6) << "DLV" << "ERROR\n";
      for (const auto& e : co_await dlq.list(from, limit, asio::use_awaitable)) {
        if (as_json) {
          out.push_back({{"sequence", e.sequence},
                         {"original_stream", e.original_stream},
                         {"original_subject", e.original_subject},
                         {"original_sequence", e.original_sequence},
                         {"consumer", e.consumer},
                         {"deliveries", e.deliveries},
                         {"error", e.error},
                         {"failed_at", e.failed_at}});
          continue;
        }
        std::cout << std::setw(8) << e.sequence << std::setw(36)
                  << (shown(e.original_stream) + " #" + std::to_string(e.original_sequence)) << std::setw(28)
                  << shown(e.failed_at) << std::setw(6) << e.deliveries << shown(e.error) << "\n";
      }
      if (as_json) std::cout << json::serialize(out) << "\n";
      co_return ok;
    };
  }
  if (verb == "show") {
    o.add_options()("json", "the entry as JSON, exact (headers and body as they are)");
    const auto vm = parse_command("dlq show", rest, {"STREAM", "SEQ"}, o);
    const auto seq = number_argument("SEQ", vm["SEQ"].as<std::string>(), 1, std::numeric_limits<std::int64_t>::max());
    return [stream = name_argument("stream name", vm["STREAM"].as<std::string>()), seq,
            as_json = vm.count("json") > 0](nc::jetstream& js) -> asio::awaitable<int> {
      nc::dead_letter_queue dlq{js, stream};
      const auto entries = co_await dlq.list(seq, 1, asio::use_awaitable);
      if (entries.empty() || entries.front().sequence != seq) {
        std::cerr << "natscoro dlq show: no message " << seq << " in " << stream << "\n";
        co_return failure;
      }
      const auto& e = entries.front();
      if (as_json) {
        json::array headers;
        for (const auto& [k, v] : e.headers) headers.push_back(json::array{json::string(k), json::string(v)});
        std::cout << json::serialize(json::object{{"sequence", e.sequence},
                                                  {"subject", e.subject},
                                                  {"headers", std::move(headers)},
                                                  {"data", e.data}})
                  << "\n";
        co_return ok;
      }
      // For a terminal: what the entry holds cannot move the cursor or clear the screen.
      std::cout << "subject: " << shown(e.subject) << "\n";
      for (const auto& [k, v] : e.headers) std::cout << shown(k) << ": " << shown(v) << "\n";
      std::cout << "data: " << nc::detail::printable(e.data, e.data.size()) << "\n";
      co_return ok;
    };
  }
  if (verb == "replay") {
    o.add_options()("all", "every entry");
    std::vector<const char*> positional{"STREAM"};
    const bool all = std::find(rest.begin(), rest.end(), "--all") != rest.end();
    if (!all) positional.push_back("SEQ");
    const auto vm = parse_command("dlq replay", rest, positional, o);
    const std::uint64_t seq =
        all ? 0 : number_argument("SEQ", vm["SEQ"].as<std::string>(), 1, std::numeric_limits<std::int64_t>::max());
    return [stream = name_argument("stream name", vm["STREAM"].as<std::string>()), all,
            seq](nc::jetstream& js) -> asio::awaitable<int> {
      nc::dead_letter_queue dlq{js, stream};
      if (all) {
        auto [ec, n] = co_await dlq.replay_all(asio::as_tuple(asio::use_awaitable));
        std::cout << "replayed " << n << " messages from " << stream << "\n";
        if (ec == nc::errc::replay_refused)
          std::cerr << "natscoro dlq replay: some entries were refused and left in " << stream
                    << " (their subject is not one their stream covers; see dlq ls)\n";
        else if (ec)
          std::cerr << "natscoro dlq replay: stopped: " << ec.message() << "\n";
        co_return ec ? failure : ok;
      }
      const auto ack = co_await dlq.replay(seq, asio::use_awaitable);
      std::cout << "replayed " << stream << " #" << seq << " as " << ack.stream << " #" << ack.sequence << "\n";
      co_return ok;
    };
  }
  throw usage_error("dlq: unknown subcommand \"" + verb + "\" (ls, show, replay)");
}

}  // namespace natscoro_cli
