// natscoro: the command-line tool. Applies topology files and inspects streams
// and consumers. Exit codes: 0 ok, 1 failure, 2 usage.
#include <natscoro/natscoro.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <boost/program_options.hpp>

#include <cstdlib>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace json = boost::json;
namespace nc = natscoro;
namespace po = boost::program_options;

namespace {

constexpr int ok = 0, failure = 1, usage = 2;

// Bad command-line use: printed with the command's help, exit code 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const char* const overview = R"(usage: natscoro [connection options] COMMAND [ARGS] [--help]

commands:
  apply FILE [--dry-run]            create or update the streams and consumers of a topology file
  streams ls [--json]               list streams
  streams info NAME [--json]        a stream's configuration and state
  streams purge NAME [--subject S] [--up-to SEQ]
  streams rm NAME
  consumers ls STREAM [--json]      list a stream's consumers
  consumers info STREAM NAME [--json]
  consumers rm STREAM NAME

exit codes: 0 ok, 1 failure, 2 usage
)";

po::options_description connection_options() {
  po::options_description o("connection options");
  o.add_options()("help,h", "this help")(
      "server,s", po::value<std::string>(), "server URL(s), comma-separated (default: $NATS_URL or nats://127.0.0.1:4222)")(
      "user", po::value<std::string>(), "user name")("password", po::value<std::string>(), "password")(
      "token", po::value<std::string>(), "token")("creds", po::value<std::string>(), "credentials file (.creds)")(
      "tls-ca", po::value<std::string>(), "CA file to trust (PEM)")("tls-cert", po::value<std::string>(),
                                                                     "client certificate (PEM)")(
      "tls-key", po::value<std::string>(), "client key (PEM)")("verbose,v", "log natscoro's info lines");
  return o;
}

nc::connect_options connect_options_from(const po::variables_map& vm) {
  nc::connect_options o;
  std::string servers = vm.count("server") ? vm["server"].as<std::string>() : "";
  if (servers.empty())
    if (const char* env = std::getenv("NATS_URL")) servers = env;
  if (!servers.empty()) {
    o.servers.clear();
    for (std::size_t start = 0; start <= servers.size();) {
      const auto comma = servers.find(',', start);
      o.servers.push_back(servers.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  auto text = [&](const char* key) { return vm.count(key) ? vm[key].as<std::string>() : std::string(); };
  o.name = "natscoro-cli";
  o.user = text("user");
  o.password = text("password");
  o.token = text("token");
  o.credentials_file = text("creds");
  o.tls.ca_file = text("tls-ca");
  o.tls.cert_file = text("tls-cert");
  o.tls.key_file = text("tls-key");
  o.tls.enabled = !o.tls.ca_file.empty() || !o.tls.cert_file.empty();
  o.reconnect.allowed = false;  // a tool: fail fast
  return o;
}

// Parses one subcommand's own arguments: `positional` names, then options.
po::variables_map parse_command(const std::string& name, const std::vector<std::string>& args,
                                const std::vector<const char*>& positional, po::options_description options) {
  options.add_options()("help,h", "this help");
  po::options_description all;
  all.add(options);
  po::positional_options_description pos;
  for (const char* p : positional) {
    all.add_options()(p, po::value<std::string>());
    pos.add(p, 1);
  }
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
  } catch (const po::error& e) {
    throw usage_error(name + ": " + e.what());
  }
  if (vm.count("help")) {
    std::cout << "usage: natscoro " << name;
    for (const char* p : positional) std::cout << " " << p;
    std::cout << "\n" << options;
    std::exit(ok);
  }
  for (const char* p : positional)
    if (!vm.count(p)) throw usage_error(name + ": missing " + p);
  po::notify(vm);
  return vm;
}

std::string result_name(nc::ensure_result r) {
  switch (r) {
    case nc::ensure_result::created: return "created";
    case nc::ensure_result::updated: return "updated";
    case nc::ensure_result::unchanged: return "unchanged";
  }
  return "?";
}

std::string duration_text(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  if (d.count() == 0) return "unlimited";
  if (d % hours(24) == nanoseconds(0)) return std::to_string(d / hours(24)) + "d";
  if (d % hours(1) == nanoseconds(0)) return std::to_string(d / hours(1)) + "h";
  if (d % minutes(1) == nanoseconds(0)) return std::to_string(d / minutes(1)) + "m";
  if (d % seconds(1) == nanoseconds(0)) return std::to_string(d / seconds(1)) + "s";
  return std::to_string(duration_cast<milliseconds>(d).count()) + "ms";
}

std::string size_text(std::int64_t bytes) {
  if (bytes < 0) return "unlimited";
  for (const auto& [unit, factor] : {std::pair{"TB", 1LL << 40}, {"GB", 1LL << 30}, {"MB", 1LL << 20}, {"KB", 1LL << 10}})
    if (bytes >= factor && bytes % factor == 0) return std::to_string(bytes / factor) + unit;
  return std::to_string(bytes) + "B";
}

json::object stream_json(const nc::stream_info& s) {
  json::array subjects;
  for (const auto& x : s.config.subjects) subjects.emplace_back(x);
  return {{"name", s.config.name},
          {"subjects", subjects},
          {"description", s.config.description},
          {"storage", s.config.storage == nc::storage_type::file ? "file" : "memory"},
          {"max_age", duration_text(s.config.max_age)},
          {"max_bytes", size_text(s.config.max_bytes)},
          {"replicas", s.config.replicas},
          {"messages", s.state.messages},
          {"bytes", s.state.bytes},
          {"first_sequence", s.state.first_sequence},
          {"last_sequence", s.state.last_sequence},
          {"consumers", s.state.consumers}};
}

json::object consumer_json(const nc::consumer_info& c) {
  return {{"stream", c.stream},
          {"name", c.name},
          {"filter_subject", c.config.filter_subject},
          {"ack_wait", duration_text(c.config.ack_wait)},
          {"max_deliver", c.config.max_deliver},
          {"num_pending", c.num_pending},
          {"num_ack_pending", c.num_ack_pending},
          {"num_redelivered", c.num_redelivered},
          {"num_waiting", c.num_waiting}};
}

// One command, run against a connected JetStream context; returns the exit code.
using command = std::function<asio::awaitable<int>(nc::jetstream&)>;

command apply_command(const std::vector<std::string>& args) {
  po::options_description o("apply options");
  o.add_options()("dry-run", "print the plan, change nothing");
  const auto vm = parse_command("apply", args, {"FILE"}, o);
  const std::string file = vm["FILE"].as<std::string>();
  const bool dry_run = vm.count("dry-run") > 0;
  auto topology = std::make_shared<nc::topology>(nc::load_topology(file));  // a bad file fails before connecting
  return [topology, dry_run](nc::jetstream& js) -> asio::awaitable<int> {
    auto [ec, plan] = co_await nc::apply_topology(js, *topology, dry_run, asio::as_tuple(asio::use_awaitable));
    for (const auto& change : plan) {
      std::cout << (change.what == nc::topology_change::kind::stream ? "stream   " : "consumer ") << std::left
                << std::setw(40) << change.name << (dry_run && change.result != nc::ensure_result::unchanged ? "would be " : "")
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
  if (args.empty()) throw usage_error("streams: ls, info, purge or rm?");
  const std::string verb = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  po::options_description o("options");
  if (verb == "ls" || verb == "info") o.add_options()("json", "JSON for scripts");
  if (verb == "purge")
    o.add_options()("subject", po::value<std::string>(), "only this subject")(
        "up-to", po::value<std::uint64_t>(), "only below this sequence");
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
    return [name = vm["NAME"].as<std::string>(), as_json = vm.count("json") > 0](nc::jetstream& js) -> asio::awaitable<int> {
      const auto j = stream_json(co_await js.stream_info(name, asio::use_awaitable));
      if (as_json) {
        std::cout << json::serialize(j) << "\n";
      } else {
        for (const auto& [k, v] : j) std::cout << std::left << std::setw(16) << std::string(k) << json::serialize(v) << "\n";
      }
      co_return ok;
    };
  }
  if (verb == "purge") {
    const auto vm = parse_command("streams purge", rest, {"NAME"}, o);
    nc::purge_options what;
    if (vm.count("subject")) what.subject = vm["subject"].as<std::string>();
    if (vm.count("up-to")) what.up_to_sequence = vm["up-to"].as<std::uint64_t>();
    return [name = vm["NAME"].as<std::string>(), what](nc::jetstream& js) -> asio::awaitable<int> {
      std::cout << "purged " << co_await js.purge_stream(name, what, asio::use_awaitable) << " messages from " << name
                << "\n";
      co_return ok;
    };
  }
  if (verb == "rm") {
    const auto vm = parse_command("streams rm", rest, {"NAME"}, o);
    return [name = vm["NAME"].as<std::string>()](nc::jetstream& js) -> asio::awaitable<int> {
      co_await js.delete_stream(name, asio::use_awaitable);
      std::cout << "deleted stream " << name << "\n";
      co_return ok;
    };
  }
  throw usage_error("streams: unknown subcommand \"" + verb + "\" (ls, info, purge, rm)");
}

command consumers_command(const std::vector<std::string>& args) {
  if (args.empty()) throw usage_error("consumers: ls, info or rm?");
  const std::string verb = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  po::options_description o("options");
  if (verb == "ls" || verb == "info") o.add_options()("json", "JSON for scripts");
  if (verb == "ls") {
    const auto vm = parse_command("consumers ls", rest, {"STREAM"}, o);
    return [stream = vm["STREAM"].as<std::string>(), as_json = vm.count("json") > 0](nc::jetstream& js) -> asio::awaitable<int> {
      json::array out;
      if (!as_json) std::cout << std::left << std::setw(32) << "CONSUMER" << std::setw(12) << "PENDING" << "ACK PENDING\n";
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
    return [stream = vm["STREAM"].as<std::string>(), name = vm["NAME"].as<std::string>(),
            as_json = vm.count("json") > 0](nc::jetstream& js) -> asio::awaitable<int> {
      const auto j = consumer_json(co_await js.consumer_info(stream, name, asio::use_awaitable));
      if (as_json) {
        std::cout << json::serialize(j) << "\n";
      } else {
        for (const auto& [k, v] : j) std::cout << std::left << std::setw(16) << std::string(k) << json::serialize(v) << "\n";
      }
      co_return ok;
    };
  }
  if (verb == "rm") {
    const auto vm = parse_command("consumers rm", rest, {"STREAM", "NAME"}, o);
    return [stream = vm["STREAM"].as<std::string>(), name = vm["NAME"].as<std::string>()](nc::jetstream& js) -> asio::awaitable<int> {
      co_await js.delete_consumer(stream, name, asio::use_awaitable);
      std::cout << "deleted consumer " << stream << "/" << name << "\n";
      co_return ok;
    };
  }
  throw usage_error("consumers: unknown subcommand \"" + verb + "\" (ls, info, rm)");
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description global = connection_options();
  po::options_description all;
  all.add(global);
  all.add_options()("command", po::value<std::string>())("args", po::value<std::vector<std::string>>());
  po::positional_options_description pos;
  pos.add("command", 1).add("args", -1);

  command run;
  po::variables_map vm;
  try {
    const auto parsed = po::command_line_parser(argc, argv).options(all).positional(pos).allow_unregistered().run();
    po::store(parsed, vm);
    if (!vm.count("command")) {
      std::cout << overview << "\n" << global;
      return vm.count("help") ? ok : usage;
    }
    // What follows the command is the command's own (options included).
    auto rest = po::collect_unrecognized(parsed.options, po::include_positional);
    rest.erase(rest.begin());
    if (vm.count("help")) rest.push_back("--help");
    const std::string name = vm["command"].as<std::string>();
    if (name == "apply") {
      run = apply_command(rest);
    } else if (name == "streams") {
      run = streams_command(rest);
    } else if (name == "consumers") {
      run = consumers_command(rest);
    } else {
      throw usage_error("unknown command \"" + name + "\"");
    }
  } catch (const usage_error& e) {
    std::cerr << "natscoro " << e.what() << "\n\n" << overview;
    return usage;
  } catch (const po::error& e) {
    std::cerr << "natscoro: " << e.what() << "\n\n" << overview;
    return usage;
  } catch (const nc::error& e) {  // e.g. a bad topology file
    std::cerr << "natscoro: " << e.detail() << "\n";
    return failure;
  }

  // The tool prints its own errors; --verbose shows the library's log as well.
  nc::logger()->set_level(vm.count("verbose") ? spdlog::level::info : spdlog::level::off);
  asio::io_context ioc;
  int status = failure;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        auto conn = co_await nc::connect(ioc.get_executor(), connect_options_from(vm), asio::use_awaitable);
        nc::jetstream js{conn};
        status = co_await run(js);
        co_await conn.drain(asio::use_awaitable);
      },
      [&](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          std::cerr << "natscoro: " << ex.what() << "\n";
        }
        status = failure;
      });
  ioc.run();
  return status;
}
