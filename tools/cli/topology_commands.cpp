// apply, streams, consumers: declaring and inspecting streams and consumers.
#include "cli.hpp"

#include <natscoro/detail/names.hpp>

#include <iomanip>
#include <iostream>

namespace natscoro_cli {

command apply_command(const std::vector<std::string>& args) {
  po::options_description o("apply options");
  o.add_options()("dry-run", "print the plan, change nothing")(
      "replicas", po::value<std::string>(), "replicate every stream N times (1 to 5), whatever the file says");
  const auto vm = parse_command("apply", args, {"FILE"}, o);
  const std::string file = vm["FILE"].as<std::string>();
  const bool dry_run = vm.count("dry-run") > 0;
  auto topology = std::make_shared<nc::topology>(nc::load_topology(file));  // a bad file fails before connecting
  if (vm.count("replicas"))
    *topology = nc::with_replicas(
        std::move(*topology), static_cast<int>(number_argument("--replicas", vm["replicas"].as<std::string>(), 1, 5)));
  return [topology, dry_run](nc::jetstream& js) -> asio::awaitable<int> {
    auto [ec, plan] = co_await nc::apply_topology(js, *topology, dry_run, asio::as_tuple(asio::use_awaitable));
    for (const auto& change : plan) {
      std::cout << (change.what == nc::topology_change::kind::stream ? "stream   " : "consumer ") << std::left
                << std::setw(40) << change.name
                << (dry_run && change.result != nc::ensure_result::unchanged ? "would be " : "")
                << result_name(change.result);
      if (!change.fields.empty()) std::cout << ": " << change.fields;
      std::cout << "\n";
    }
    if (ec) {
      std::cerr << "natscoro apply: " << ec.message()
                << (ec == nc::errc::config_mismatch ? " (nothing was applied; see the fields above)" : "") << "\n";
      co_return failure;
    }
    co_return ok;
  };
}

command streams_command(const std::vector<std::string>& args) {
  group_help("streams", args);
  if (args.empty()) throw usage_error("streams: ls, info, purge or rm?");
  const std::string verb = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  po::options_description o("options");
  if (verb == "ls" || verb == "info") o.add_options()("json", "JSON for scripts");
  if (verb == "purge") {
    o.add_options()("subject", po::value<std::string>(), "only this subject");
    o.add_options()("up-to", po::value<std::string>(), "only below this sequence (at least 1)");
  }
  if (verb == "purge" || verb == "rm") o.add_options()("force,f", "do not ask for confirmation");
  if (verb == "ls") {
    const bool as_json = parse_command("streams ls", rest, {}, o).count("json") > 0;
    return [as_json](nc::jetstream& js) -> asio::awaitable<int> {
      json::array out;
      const auto names = co_await js.list_streams(asio::use_awaitable);
      if (!as_json) std::cout << std::left << std::setw(24) << "STREAM" << std::setw(12) << "MESSAGES" << "SUBJECTS\n";
      for (const auto& name : names) {
        const auto info = co_await js.stream_info(name, asio::use_awaitable);
        if (as_json) {
          out.push_back(stream_json(info));
          continue;
        }
        std::string subjects;
        for (const auto& s : info.config.subjects) subjects += (subjects.empty() ? "" : " ") + s;
        std::cout << std::setw(24) << name << std::setw(12) << info.state.messages << subjects << "\n";
      }
      if (as_json) std::cout << json::serialize(out) << "\n";
      co_return ok;
    };
  }
  if (verb == "info") {
    const auto vm = parse_command("streams info", rest, {"NAME"}, o);
    return [name = name_argument("stream name", vm["NAME"].as<std::string>()),
            as_json = vm.count("json") > 0](nc::jetstream& js) -> asio::awaitable<int> {
      const auto j = stream_json(co_await js.stream_info(name, asio::use_awaitable));
      print_details(j, as_json);
      co_return ok;
    };
  }
  if (verb == "purge") {
    const auto vm = parse_command("streams purge", rest, {"NAME"}, o);
    nc::purge_options what;
    if (vm.count("subject")) what.subject = vm["subject"].as<std::string>();
    if (vm.count("up-to"))
      what.up_to_sequence =
          number_argument("--up-to", vm["up-to"].as<std::string>(), 1, std::numeric_limits<std::int64_t>::max());
    if (std::string detail;
        !what.subject.empty() && nc::detail::check_filter_subject("--subject", what.subject, detail))
      throw usage_error(detail);
    const bool force = vm.count("force") > 0;
    check_confirmable("streams purge", force);
    return [name = name_argument("stream name", vm["NAME"].as<std::string>()), what,
            force](nc::jetstream& js) -> asio::awaitable<int> {
      const auto info = co_await js.stream_info(name, asio::use_awaitable);
      const std::string scope = (what.subject.empty() ? "" : " on " + what.subject) +
                                (what.up_to_sequence == 0 ? "" : " below #" + std::to_string(what.up_to_sequence));
      if (!confirmed("purge the messages" + scope + " of stream " + name + " (" + std::to_string(info.state.messages) +
                         " messages, " + nc::format_size(static_cast<std::int64_t>(info.state.bytes)) + ")?",
                     force)) {
        std::cerr << "natscoro: nothing purged\n";
        co_return failure;
      }
      std::cout << "purged " << co_await js.purge_stream(name, what, asio::use_awaitable) << " messages from " << name
                << "\n";
      co_return ok;
    };
  }
  if (verb == "rm") {
    const auto vm = parse_command("streams rm", rest, {"NAME"}, o);
    const bool force = vm.count("force") > 0;
    check_confirmable("streams rm", force);
    return [name = name_argument("stream name", vm["NAME"].as<std::string>()),
            force](nc::jetstream& js) -> asio::awaitable<int> {
      const auto info = co_await js.stream_info(name, asio::use_awaitable);
      if (!confirmed("delete stream " + name + " with its " + std::to_string(info.state.messages) + " messages and " +
                         std::to_string(info.state.consumers) + " consumers?",
                     force)) {
        std::cerr << "natscoro: nothing deleted\n";
        co_return failure;
      }
      co_await js.delete_stream(name, asio::use_awaitable);
      std::cout << "deleted stream " << name << "\n";
      co_return ok;
    };
  }
  throw usage_error("streams: unknown subcommand \"" + verb + "\" (ls, info, purge, rm)");
}

command consumers_command(const std::vector<std::string>& args) {
  group_help("consumers", args);
  if (args.empty()) throw usage_error("consumers: ls, info or rm?");
  const std::string verb = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  po::options_description o("options");
  if (verb == "ls" || verb == "info") o.add_options()("json", "JSON for scripts");
  if (verb == "rm") o.add_options()("force,f", "do not ask for confirmation");
  if (verb == "ls") {
    const auto vm = parse_command("consumers ls", rest, {"STREAM"}, o);
    return [stream = name_argument("stream name", vm["STREAM"].as<std::string>()),
            as_json = vm.count("json") > 0](nc::jetstream& js) -> asio::awaitable<int> {
      json::array out;
      if (!as_json)
        std::cout << std::left << std::setw(32) << "CONSUMER" << std::setw(12) << "PENDING" << "ACK PENDING\n";
      for (const auto& name : co_await js.list_consumers(stream, asio::use_awaitable)) {
        const auto info = co_await js.consumer_info(stream, name, asio::use_awaitable);
        if (as_json) {
          out.push_back(consumer_json(info));
          continue;
        }
        std::cout << std::setw(32) << name << std::setw(12) << info.num_pending << info.num_ack_pending << "\n";
      }
      if (as_json) std::cout << json::serialize(out) << "\n";
      co_return ok;
    };
  }
  if (verb == "info") {
    const auto vm = parse_command("consumers info", rest, {"STREAM", "NAME"}, o);
    return [stream = name_argument("stream name", vm["STREAM"].as<std::string>()),
            name = name_argument("consumer name", vm["NAME"].as<std::string>()),
            as_json = vm.count("json") > 0](nc::jetstream& js) -> asio::awaitable<int> {
      const auto j = consumer_json(co_await js.consumer_info(stream, name, asio::use_awaitable));
      print_details(j, as_json);
      co_return ok;
    };
  }
  if (verb == "rm") {
    const auto vm = parse_command("consumers rm", rest, {"STREAM", "NAME"}, o);
    const bool force = vm.count("force") > 0;
    check_confirmable("consumers rm", force);
    return [stream = name_argument("stream name", vm["STREAM"].as<std::string>()),
            name = name_argument("consumer name", vm["NAME"].as<std::string>()),
            force](nc::jetstream& js) -> asio::awaitable<int> {
      const auto info = co_await js.consumer_info(stream, name, asio::use_awaitable);
      if (!confirmed("delete consumer " + stream + "/" + name + " (" + std::to_string(info.num_ack_pending) +
                         " delivered and not acknowledged, " + std::to_string(info.num_pending) + " still to deliver)?",
                     force)) {
        std::cerr << "natscoro: nothing deleted\n";
        co_return failure;
      }
      co_await js.delete_consumer(stream, name, asio::use_awaitable);
      std::cout << "deleted consumer " << stream << "/" << name << "\n";
      co_return ok;
    };
  }
  throw usage_error("consumers: unknown subcommand \"" + verb + "\" (ls, info, rm)");
}

// A progress line on a terminal; nothing when standard error is piped.

}  // namespace natscoro_cli
