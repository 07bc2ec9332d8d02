// What every command shares.
#include "cli.hpp"

#include <natscoro/detail/log_text.hpp>
#include <natscoro/detail/names.hpp>
#include <natscoro/units.hpp>

#include <nats/nats.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace natscoro_cli {

const char* const overview = R"(usage: natscoro [connection options] COMMAND [ARGS] [--help]

commands:
  apply FILE [--dry-run] [--replicas N]
                                    create or update the streams and consumers of a topology file
                                    (--replicas: every stream N times, e.g. 3 on a production cluster)
  streams ls [--json]               list streams
  streams info NAME [--json]        a stream's configuration and state
  streams purge NAME [--subject S] [--up-to SEQ] [--force]
  streams rm NAME [--force]         (purge and rm ask first on a terminal; a script says --force)
  consumers ls STREAM [--json]      list a stream's consumers
  consumers info STREAM NAME [--json]
  consumers rm STREAM NAME [--force]
  pub SUBJECT --type T --org O [--data JSON | --data-file F] [--count N] [--source S]
                                    publish CloudEvents, print each PubAck
  sub STREAM [--durable NAME] [--filter S] [--count N] [--no-ack]
                                    print each event as one line of CloudEvents JSON (without
                                    --durable: an ephemeral consumer, deleted at the end)
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
  po::options_description o("connection options (each also from the environment, as the nats CLI reads it)");
  auto add = o.add_options();
  add("help,h", "this help");
  add("version", "print natscoro's and nats.c's versions");
  add("server,s", po::value<std::string>(), "server URL(s), comma-separated ($NATS_URL; else nats://127.0.0.1:4222)");
  add("user", po::value<std::string>(), "user name ($NATS_USER)");
  add("password", po::value<std::string>(), "password ($NATS_PASSWORD)");
  add("token", po::value<std::string>(), "token ($NATS_TOKEN)");
  add("creds", po::value<std::string>(), "credentials file, .creds ($NATS_CREDS)");
  add("tls-ca", po::value<std::string>(), "CA file to trust, PEM ($NATS_CA)");
  add("tls-cert", po::value<std::string>(), "client certificate, PEM ($NATS_CERT)");
  add("tls-key", po::value<std::string>(), "client key, PEM ($NATS_KEY)");
  add("verbose,v", "log natscoro's info lines");
  return o;
}

nc::connect_options connect_options_from(const po::variables_map& vm) {
  // An option given wins over its environment variable.
  auto text = [&](const char* key, const char* env) {
    if (vm.count(key)) return vm[key].as<std::string>();
    const char* value = std::getenv(env);
    return std::string(value != nullptr ? value : "");
  };
  nc::connect_options o;
  if (const std::string servers = text("server", "NATS_URL"); !servers.empty()) {
    o.servers.clear();
    for (std::size_t start = 0; start <= servers.size();) {
      const auto comma = servers.find(',', start);
      o.servers.push_back(servers.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  o.name = "natscoro-cli";
  o.user = text("user", "NATS_USER");
  o.password = text("password", "NATS_PASSWORD");
  o.token = text("token", "NATS_TOKEN");
  o.credentials_file = text("creds", "NATS_CREDS");
  o.tls.ca_file = text("tls-ca", "NATS_CA");
  o.tls.cert_file = text("tls-cert", "NATS_CERT");
  o.tls.key_file = text("tls-key", "NATS_KEY");
  o.tls.enabled = !o.tls.ca_file.empty() || !o.tls.cert_file.empty();
  o.reconnect.allowed = false;  // a tool: fail fast
  return o;
}

std::string version_text() { return std::string("natscoro ") + nc::version() + " (nats.c " + nats_GetVersion() + ")"; }

void check_confirmable(const std::string& what, bool force) {
  if (!force && !::isatty(STDIN_FILENO))
    throw usage_error(what + ": standard input is not a terminal to confirm on; --force does it without asking");
}

bool confirmed(const std::string& question, bool force) {
  if (force) return true;
  std::cerr << question << " [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}

// A whole number from the command line, from `min` to `max`: "-1" is not read as 2^64-1.
std::uint64_t number_argument(const std::string& what, const std::string& text, std::uint64_t min, std::uint64_t max) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || text.front() == '-' || text.front() == '+' || ec != std::errc{} ||
      end != text.data() + text.size() || n < min || n > max)
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
    if (line.rfind("  " + group + " ", 0) == 0)
      in_group = true;
    else if (line.rfind("    ", 0) != 0)
      in_group = false;  // continuation lines are indented further
    if (in_group) std::cout << line << "\n";
  }
  std::exit(ok);
}

std::string result_name(nc::ensure_result r) {
  switch (r) {
    case nc::ensure_result::created:
      return "created";
    case nc::ensure_result::updated:
      return "updated";
    case nc::ensure_result::unchanged:
      return "unchanged";
  }
  return "?";
}

std::string duration_text(std::chrono::nanoseconds d) { return d.count() == 0 ? "unlimited" : nc::format_duration(d); }

std::string size_text(std::int64_t bytes) { return bytes < 0 ? "unlimited" : nc::format_size(bytes); }

std::string limit_text(std::int64_t n) { return n < 0 ? "unlimited" : std::to_string(n); }

json::object stream_json(const nc::stream_info& s) {
  const auto& c = s.config;
  json::array subjects;
  for (const auto& x : c.subjects) subjects.emplace_back(x);
  // Every configured field, named as in topology files, then the state.
  return {{"name", c.name},
          {"subjects", subjects},
          {"description", c.description},
          {"retention", c.retention == nc::retention_policy::limits     ? "limits"
                        : c.retention == nc::retention_policy::interest ? "interest"
                                                                        : "work_queue"},
          {"storage", c.storage == nc::storage_type::file ? "file" : "memory"},
          {"replicas", c.replicas},
          {"max_age", duration_text(c.max_age)},
          {"max_bytes", size_text(c.max_bytes)},
          {"max_msgs", limit_text(c.max_msgs)},
          {"max_msg_size", size_text(c.max_msg_size)},
          {"max_msgs_per_subject", limit_text(c.max_msgs_per_subject)},
          {"discard", c.discard == nc::discard_policy::old_messages ? "old" : "new"},
          {"duplicate_window", nc::format_duration(c.duplicate_window)},
          {"allow_rollup", c.allow_rollup},
          {"deny_delete", c.deny_delete},
          {"deny_purge", c.deny_purge},
          {"messages", s.state.messages},
          {"bytes", nc::format_size(static_cast<std::int64_t>(s.state.bytes))},
          {"first_sequence", s.state.first_sequence},
          {"last_sequence", s.state.last_sequence},
          {"consumers", s.state.consumers}};
}

json::object consumer_json(const nc::consumer_info& c) {
  return {{"stream", c.stream},
          {"name", c.name},
          {"filter_subject", c.config.filter_subject},
          {"ack_wait", nc::format_duration(c.config.ack_wait)},
          {"max_deliver", limit_text(c.config.max_deliver)},
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

}  // namespace natscoro_cli
