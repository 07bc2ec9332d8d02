// The natscoro command-line tool's parts: what every command shares (connection
// options, argument checks, help, printing) and one function per command group
// that parses its arguments and returns the work to run on a connection.
#pragma once

#include <natscoro/natscoro.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <boost/program_options.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace natscoro_cli {

namespace asio = boost::asio;
namespace json = boost::json;
namespace nc = natscoro;
namespace po = boost::program_options;

inline constexpr int ok = 0, failure = 1, usage = 2;

// Bad command-line use: printed with the command's help, exit code 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The usage text: every command, one or two lines each.
extern const char* const overview;

// Options are spelled out: with Boost's default guessing, a command's "--to 4" was
// taken for the global "--token 4".
inline constexpr int exact_options = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;

/// A parsed command: the work to do once connected; returns the exit code.
using command = std::function<asio::awaitable<int>(nc::jetstream&)>;

po::options_description connection_options();
nc::connect_options connect_options_from(const po::variables_map& vm);
/// A whole number from the command line, from `min` to `max`: "-1" is not read as 2^64-1.
std::uint64_t number_argument(const std::string& what, const std::string& text, std::uint64_t min, std::uint64_t max);
/// A stream or consumer name from the command line, checked before anything is sent.
std::string name_argument(const std::string& what, const std::string& name);
/// Text from a stream or the server, for a person's terminal: no escape sequences, no line breaks.
std::string shown(std::string_view text);
/// Parses one subcommand's own arguments: `positional` names, then options.
po::variables_map parse_command(const std::string& name, const std::vector<std::string>& args,
                                const std::vector<const char*>& positional, po::options_description options);
/// `natscoro GROUP --help` (streams, consumers, dlq): the group's lines of the overview.
void group_help(const std::string& group, const std::vector<std::string>& args);
std::string result_name(nc::ensure_result r);
/// For limits, where 0 (durations) or a negative number (sizes, counts) means none: "unlimited".
std::string duration_text(std::chrono::nanoseconds d);
std::string size_text(std::int64_t bytes);
std::string limit_text(std::int64_t n);
/// "natscoro 0.1.0 (nats.c 3.4.1)".
std::string version_text();
/// Before connecting: a command that destroys data (`what`) asks first unless
/// --force; without a terminal to ask on, a script must say --force (usage error).
void check_confirmable(const std::string& what, bool force);
/// Asks `question` on the terminal (y/N) unless `force`.
bool confirmed(const std::string& question, bool force);
json::object stream_json(const nc::stream_info& s);
json::object consumer_json(const nc::consumer_info& c);
void print_details(const json::object& j, bool as_json);

// One per command group (topology_commands.cpp, message_commands.cpp, dlq_command.cpp, replay_command.cpp).
command apply_command(const std::vector<std::string>& args);
command streams_command(const std::vector<std::string>& args);
command consumers_command(const std::vector<std::string>& args);
command pub_command(const std::vector<std::string>& args);
command sub_command(const std::vector<std::string>& args);
command dlq_command(const std::vector<std::string>& args);
command replay_command(const std::vector<std::string>& args);

}  // namespace natscoro_cli
