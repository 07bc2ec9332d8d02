// natscoro: the command-line tool. Applies topology files, inspects streams and
// consumers, publishes and reads events, handles the dead-letter queue.
// Exit codes: 0 ok, 1 failure, 2 usage.
#include <natscoro/detail/log_text.hpp>
#include <natscoro/detail/names.hpp>
#include <natscoro/detail/replay_cursor.hpp>
#include <natscoro/natscoro.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <boost/program_options.hpp>

#include <boost/asio/signal_set.hpp>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <set>
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
  apply FILE [--dry-run] [--replicas N]
                                    create or update the streams and consumers of a topology file
                                    (--replicas: every stream N times, e.g. 3 on a production cluster)
  streams ls [--json]               list streams
  streams info NAME [--json]        a stream's configuration and state
  streams purge NAME [--subject S] [--up-to SEQ]
  streams rm NAME
  consumers ls STREAM [--json]      list a stream's consumers
  consumers info STREAM NAME [--json]
  consumers rm STREAM NAME
  pub SUBJECT --type T --org O [--data JSON | --data-file F] [--count N] [--source S]
                                    publish CloudEvents, print each PubAck
  sub STREAM --durable NAME [--filter S] [--count N] [--no-ack]
                                    print each event as one line of CloudEvents JSON
  dlq ls STREAM [--from SEQ] [--limit N] [--json]
                                    dead-lettered messages and why
  dlq show STREAM SEQ [--json]      one of them, headers and body
  dlq replay STREAM (SEQ | --all)   back to the original subject, then out of the DLQ
  replay STREAM [--from SEQ|TIME] [--to SEQ|TIME] [--filter S] [--envelope E]
                                    print a range of a stream, one JSON line per message, in
                                    order (TIME: RFC 3339); leaves no consumer behind

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

// A whole number from the command line, from `min` to `max`: "-1" is not read as 2^64-1.
std::uint64_t number_argument(const std::string& what, const std::string& text, std::uint64_t min, std::uint64_t max) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || text.front() == '-' || text.front() == '+' || ec != std::errc{} || end != text.data() + text.size() ||
      n < min || n > max)
    throw usage_error(what + ": expected a whole number from " + std::to_string(min) + " to " + std::to_string(max) +
                      ", got \"" + nc::detail::printable(text) + "\"");
  return n;
}

// A stream or consumer name from the command line, checked before anything is sent.
std::string name_argument(const std::string& what, const std::string& name) {
  std::string detail;
  if (nc::detail::check_name(what, name, detail)) throw usage_error(detail);
  return name;
}

// Text from a stream or the server, for a person's terminal: no escape sequences, no line breaks.
std::string shown(std::string_view text) { return nc::detail::printable(text, 4096); }

// Options are spelled out: with Boost's default guessing, a command's "--to 4" was
// taken for the global "--token 4".
constexpr int exact_options = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;

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
    po::store(po::command_line_parser(args).options(all).positional(pos).style(exact_options).run(), vm);
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

// `natscoro GROUP --help` (streams, consumers, dlq): the group's lines of the overview.
void group_help(const std::string& group, const std::vector<std::string>& args) {
  if (args.empty() || (args[0] != "--help" && args[0] != "-h")) return;
  std::cout << "usage: natscoro " << group << " SUBCOMMAND [ARGS] [--help]\n\n";
  std::istringstream lines(overview);
  bool in_group = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("  " + group + " ", 0) == 0) in_group = true;
    else if (line.rfind("    ", 0) != 0) in_group = false;  // continuation lines are indented further
    if (in_group) std::cout << line << "\n";
  }
  std::exit(ok);
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

// An info command's answer: one JSON line for scripts, or "field  value" lines for people.
void print_details(const json::object& j, bool as_json) {
  if (as_json) return void(std::cout << json::serialize(j) << "\n");
  for (const auto& [k, v] : j) std::cout << std::left << std::setw(16) << std::string(k) << json::serialize(v) << "\n";
}

// One command, run against a connected JetStream context; returns the exit code.
using command = std::function<asio::awaitable<int>(nc::jetstream&)>;

command apply_command(const std::vector<std::string>& args) {
  po::options_description o("apply options");
  o.add_options()("dry-run", "print the plan, change nothing")(
      "replicas", po::value<std::string>(), "replicate every stream N times (1 to 5), whatever the file says");
  const auto vm = parse_command("apply", args, {"FILE"}, o);
  const std::string file = vm["FILE"].as<std::string>();
  const bool dry_run = vm.count("dry-run") > 0;
  auto topology = std::make_shared<nc::topology>(nc::load_topology(file));  // a bad file fails before connecting
  if (vm.count("replicas"))
    *topology = nc::with_replicas(std::move(*topology),
                                  static_cast<int>(number_argument("--replicas", vm["replicas"].as<std::string>(), 1, 5)));
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
  group_help("streams", args);
  if (args.empty()) throw usage_error("streams: ls, info, purge or rm?");
  const std::string verb = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  po::options_description o("options");
  if (verb == "ls" || verb == "info") o.add_options()("json", "JSON for scripts");
  if (verb == "purge")
    o.add_options()("subject", po::value<std::string>(), "only this subject")(
        "up-to", po::value<std::string>(), "only below this sequence (at least 1)");
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
      what.up_to_sequence = number_argument("--up-to", vm["up-to"].as<std::string>(), 1,
                                            std::numeric_limits<std::int64_t>::max());
    if (std::string detail; !what.subject.empty() && nc::detail::check_filter_subject("--subject", what.subject, detail))
      throw usage_error(detail);
    return [name = name_argument("stream name", vm["NAME"].as<std::string>()), what](nc::jetstream& js) -> asio::awaitable<int> {
      std::cout << "purged " << co_await js.purge_stream(name, what, asio::use_awaitable) << " messages from " << name
                << "\n";
      co_return ok;
    };
  }
  if (verb == "rm") {
    const auto vm = parse_command("streams rm", rest, {"NAME"}, o);
    return [name = name_argument("stream name", vm["NAME"].as<std::string>())](nc::jetstream& js) -> asio::awaitable<int> {
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
  if (verb == "ls") {
    const auto vm = parse_command("consumers ls", rest, {"STREAM"}, o);
    return [stream = name_argument("stream name", vm["STREAM"].as<std::string>()), as_json = vm.count("json") > 0](nc::jetstream& js) -> asio::awaitable<int> {
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
    return [stream = name_argument("stream name", vm["STREAM"].as<std::string>()),
            name = name_argument("consumer name", vm["NAME"].as<std::string>())](nc::jetstream& js) -> asio::awaitable<int> {
      co_await js.delete_consumer(stream, name, asio::use_awaitable);
      std::cout << "deleted consumer " << stream << "/" << name << "\n";
      co_return ok;
    };
  }
  throw usage_error("consumers: unknown subcommand \"" + verb + "\" (ls, info, rm)");
}

// A progress line on a terminal; nothing when standard error is piped.
class progress {
 public:
  progress(const char* what, std::uint64_t total) : what_(what), total_(total), shown_(::isatty(STDERR_FILENO) != 0) {}
  void step(std::uint64_t done) {
    if (shown_ && total_ > 1 && (done % 100 == 0 || done == total_))
      std::cerr << "\r" << what_ << " " << done << "/" << total_ << (done == total_ ? "\n" : "") << std::flush;
  }

 private:
  const char* what_;
  std::uint64_t total_;
  bool shown_;
};

command pub_command(const std::vector<std::string>& args) {
  po::options_description o("pub options");
  o.add_options()("type", po::value<std::string>(), "CloudEvents type (required)")(
      "org", po::value<std::string>(), "organizationid, the tenant (required)")(
      "data", po::value<std::string>(), "the data, JSON")("data-file", po::value<std::string>(), "the data, from a JSON file")(
      "count", po::value<std::string>()->default_value("1"), "how many events (1 to 1000000000)")(
      "source", po::value<std::string>()->default_value("natscoro-cli"), "CloudEvents source");
  const auto vm = parse_command("pub", args, {"SUBJECT"}, o);
  if (!vm.count("type") || !vm.count("org")) throw usage_error("pub: --type and --org are required");
  const auto count = number_argument("--count", vm["count"].as<std::string>(), 1, 1'000'000'000);
  const auto subject = vm["SUBJECT"].as<std::string>();
  if (!nc::detail::valid_publish_subject(subject))
    throw usage_error("pub: \"" + shown(subject) + "\" is not a subject one can publish to");
  if (vm.count("data") && vm.count("data-file")) throw usage_error("pub: --data or --data-file, not both");
  std::string text = "{}";
  if (vm.count("data")) text = vm["data"].as<std::string>();
  if (vm.count("data-file")) {
    std::ifstream in(vm["data-file"].as<std::string>());
    if (!in) throw nc::error(make_error_code(nc::errc::invalid_argument), vm["data-file"].as<std::string>() + ": cannot be read");
    std::stringstream all;
    all << in.rdbuf();
    text = all.str();
  }
  boost::system::error_code ec;
  auto data = json::parse(text, ec);
  if (ec) throw nc::error(make_error_code(nc::errc::invalid_argument), "the data is not valid JSON (" + ec.message() + ")");
  nc::event evt = nc::event::make(vm["type"].as<std::string>(), vm["org"].as<std::string>());
  evt.data = std::move(data);
  return [subject, evt, count, source = vm["source"].as<std::string>()](nc::jetstream& js) -> asio::awaitable<int> {
    nc::publisher_options popts;
    popts.source = source;
    nc::publisher pub{js, popts};
    progress bar("published", count);
    std::uint64_t done = 0, failed = 0;
    for (std::uint64_t i = 0; i < count; ++i) {
      if (!pub.has_room()) co_await pub.wait_for_room(asio::use_awaitable);  // memory stays within the window
      auto e = evt;
      e.id.clear();  // a new id each
      pub.publish(subject, std::move(e), [&](nc::error_code ec, nc::pub_ack ack) {
        if (ec) {
          ++failed;
          std::cerr << "natscoro pub: " << ec.message() << "\n";
        } else {
          std::cout << "stored in " << ack.stream << " #" << ack.sequence << (ack.duplicate ? " (duplicate)" : "") << "\n";
        }
        bar.step(++done);
      });
    }
    co_await pub.flush(asio::use_awaitable);
    co_return failed == 0 ? ok : failure;
  };
}

command sub_command(const std::vector<std::string>& args) {
  po::options_description o("sub options");
  o.add_options()("durable", po::value<std::string>(), "the durable consumer (created if missing; required)")(
      "filter", po::value<std::string>(), "filter subject")(
      "count", po::value<std::string>(), "stop after N events (1 to 1000000000)")(
      "no-ack", "a peek: print each message once and give it back (nak); ends when every pending one was seen");
  const auto vm = parse_command("sub", args, {"STREAM"}, o);
  if (!vm.count("durable")) throw usage_error("sub: --durable is required");
  nc::consumer_config cfg;
  cfg.durable = name_argument("--durable", vm["durable"].as<std::string>());
  if (vm.count("filter")) cfg.filter_subject = vm["filter"].as<std::string>();
  if (std::string detail; vm.count("filter") && nc::detail::check_filter_subject("--filter", cfg.filter_subject, detail))
    throw usage_error(detail);
  const std::uint64_t count = vm.count("count") ? number_argument("--count", vm["count"].as<std::string>(), 1, 1'000'000'000) : 0;
  return [stream = name_argument("stream name", vm["STREAM"].as<std::string>()), cfg, count, no_ack = vm.count("no-ack") > 0](
             nc::jetstream& js) -> asio::awaitable<int> {
    nc::consumer_options opts;
    if (count > 0) opts.capacity = std::min<std::size_t>(count, 256);
    auto cons = co_await js.consumer(stream, cfg, opts, asio::use_awaitable);
    asio::signal_set signals(js.get_executor(), SIGINT, SIGTERM);
    signals.async_wait([cons](const boost::system::error_code& ec, int) mutable {
      if (!ec) cons.drain(std::chrono::seconds(5), [](nc::error_code) {});
    });
    progress bar("received", count);
    int status = ok;
    std::uint64_t received = 0;
    // What was given back after it was printed or reported: it comes again, and is not shown twice.
    // (Acknowledged messages are not kept: a long-running sub holds no record of them.)
    std::set<std::uint64_t> given_back;
    while (count == 0 || received < count) {
      auto m = co_await cons.next(asio::use_awaitable);
      if (!m) break;
      const auto& md = m->metadata();
      if (given_back.contains(md.stream_sequence)) {
        if (no_ack && md.num_pending == 0) {  // seen before and nothing behind it: the peek is complete
          co_await m->nak(std::chrono::nanoseconds(0), asio::use_awaitable);
          break;
        }
        co_await m->nak(std::chrono::seconds(1), asio::use_awaitable);
        continue;
      }
      nc::event evt;
      std::string why;
      if (auto ec = m->decode(evt, why)) {
        std::cerr << "natscoro sub: message " << md.stream_sequence << " on " << shown(m->subject())
                  << " is not a CloudEvent (" << shown(why) << "); left for redelivery\n";
        given_back.insert(md.stream_sequence);
        co_await m->nak(std::chrono::seconds(5), asio::use_awaitable);
        status = failure;
        continue;
      }
      std::cout << nc::to_structured_json(evt) << "\n";
      if (no_ack) {
        given_back.insert(md.stream_sequence);
        co_await m->nak(md.num_pending == 0 ? std::chrono::nanoseconds(0) : std::chrono::nanoseconds(std::chrono::seconds(1)),
                        asio::use_awaitable);
      } else {
        co_await m->ack_sync(asio::use_awaitable);
      }
      bar.step(++received);
    }
    signals.cancel();
    co_await cons.drain(std::chrono::seconds(5), asio::use_awaitable);
    co_return status;
  };
}

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
    const auto from = number_argument("--from", vm["from"].as<std::string>(), 1, std::numeric_limits<std::int64_t>::max());
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
    return [stream = name_argument("stream name", vm["STREAM"].as<std::string>()), all, seq](
               nc::jetstream& js) -> asio::awaitable<int> {
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

}  // namespace

// A replay bound: digits are a stream sequence, anything else RFC 3339 time.
nc::stream_position position_argument(const std::string& what, const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos)
    return number_argument(what, text, 1, UINT64_MAX);
  if (auto t = nc::parse_rfc3339(text)) return *t;
  throw usage_error(what + ": expected a stream sequence or an RFC 3339 time (2026-11-30T08:00:00Z), got \"" +
                    nc::detail::printable(text) + "\"");
}

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
  if (std::string detail; vm.count("filter") && nc::detail::check_filter_subject("--filter", range.filter_subject, detail))
    throw usage_error(detail);
  if (const auto problem = nc::detail::replay_cursor(range, 0).check(); !problem.empty()) throw usage_error(problem);
  nc::replay_options opts;
  const std::string envelope = vm["envelope"].as<std::string>();
  if (envelope == "plain") opts.envelope = nc::envelope::plain_json();
  else if (envelope == "raw") opts.envelope = nc::envelope::raw();
  else if (envelope != "cloudevents")
    throw usage_error("--envelope: cloudevents, plain or raw, not \"" + nc::detail::printable(envelope) + "\"");
  return [stream = name_argument("stream name", vm["STREAM"].as<std::string>()), range, opts](
             nc::jetstream& js) -> asio::awaitable<int> {
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
    const auto parsed =
        po::command_line_parser(argc, argv).options(all).positional(pos).style(exact_options).allow_unregistered().run();
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
    } else if (name == "pub") {
      run = pub_command(rest);
    } else if (name == "sub") {
      run = sub_command(rest);
    } else if (name == "dlq") {
      run = dlq_command(rest);
    } else if (name == "replay") {
      run = replay_command(rest);
    } else {
      throw usage_error("unknown command \"" + name + "\"");
    }
  } catch (const usage_error& e) {
    std::cerr << "natscoro " << e.what() << "\n\n" << overview;
    return usage;
  } catch (const po::error& e) {
    std::cerr << "natscoro: " << e.what() << "\n\n" << overview;
    return usage;
  } catch (const std::logic_error& e) {  // a number that is not one
    std::cerr << "natscoro: bad argument (" << e.what() << ")\n\n" << overview;
    return usage;
  } catch (const nc::error& e) {  // e.g. a bad topology file
    std::cerr << "natscoro: " << e.detail() << "\n";
    return failure;
  }

  // The tool prints its own errors; --verbose shows the library's log as well. Without it
  // the library's last warning or error is kept, and printed with a failure: it names
  // the problem (the server's description, the file that cannot be read).
  auto last_problem = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1);
  last_problem->set_pattern("%v");
  last_problem->set_level(spdlog::level::warn);
  std::vector<spdlog::sink_ptr> sinks{last_problem};
  if (vm.count("verbose")) sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  nc::set_logger(std::make_shared<spdlog::logger>("natscoro", sinks.begin(), sinks.end()));
  nc::logger()->set_level(vm.count("verbose") ? spdlog::level::info : spdlog::level::warn);
  auto print_problem = [&] {
    if (vm.count("verbose")) return;  // shown already
    for (const auto& line : last_problem->last_formatted()) std::cerr << "natscoro: " << line;
  };
  asio::io_context ioc;
  int status = failure;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        auto conn = co_await nc::connect(ioc.get_executor(), connect_options_from(vm), asio::use_awaitable);
        nc::jetstream js{conn};
        status = co_await run(js);
        if (status != ok) print_problem();
        co_await conn.drain(asio::use_awaitable);
      },
      [&](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          std::cerr << "natscoro: " << ex.what() << "\n";
          print_problem();
        }
        status = failure;
      });
  ioc.run();
  return status;
}
