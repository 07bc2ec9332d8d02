#define BOOST_TEST_MODULE natscoro cli
#include <natscoro/natscoro.hpp>

#include "async_test.hpp"
#include "child_process.hpp"
#include "nats_server.hpp"
#include "test_options.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>

namespace nc = natscoro;
namespace asio = boost::asio;
using namespace natscoro::test;
using namespace std::chrono_literals;

namespace {

struct run_result {
  int status = -1;
  std::vector<std::string> lines;  // standard output and error
};

// Runs the natscoro tool to its end; `answer`: typed on its terminal (else its standard input is /dev/null).
run_result run_tool(std::vector<std::string> args, const std::optional<std::string>& answer = std::nullopt) {
  args.insert(args.begin(), NATSCORO_CLI);
  child_process child(args, true, answer.has_value());
  if (answer) child.type(*answer);
  run_result r;
  for (std::string line = child.read_line(20s); !line.empty(); line = child.read_line(20s)) r.lines.push_back(line);
  r.status = child.wait();
  return r;
}

// Runs the natscoro tool against `server` to its end.
run_result run_tool(const nats_server& server, std::vector<std::string> args,
                    const std::optional<std::string>& answer = std::nullopt) {
  args.insert(args.begin(), {"--server", server.url()});
  return run_tool(std::move(args), answer);
}

// Sets an environment variable for the tools this test starts, until the end of the scope.
struct scoped_env {
  scoped_env(const char* name, const std::string& value) : name_(name) { ::setenv(name, value.c_str(), 1); }
  ~scoped_env() { ::unsetenv(name_); }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;
  const char* name_;
};

bool has_line(const run_result& r, const std::string& text) {
  return std::any_of(r.lines.begin(), r.lines.end(), [&](const auto& l) { return l.find(text) != std::string::npos; });
}

std::string topology(const std::string& name) { return std::string(NATSCORO_TOPOLOGIES) + "/" + name + ".json"; }

// Stores `m` as it is (any subject, headers and body), as another producer would.
void publish_raw(const nats_server& server, nc::raw_message m) {
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::publisher_options popts;
    popts.require_organization = false;
    nc::publisher publisher{nc::jetstream{conn}, popts};
    co_await publisher.publish_raw(std::move(m));
    co_await conn.drain();
  });
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(apply_prints_the_plan_and_is_idempotent, server_fixture) {
  auto r = run_tool(server, {"apply", topology("deltran"), "--dry-run"});
  BOOST_TEST(r.status == 0);
  BOOST_TEST(r.lines.size() == 10u);  // 8 streams, 2 consumers
  BOOST_TEST(has_line(r, "stream   TRANSACTIONS                            would be created"));
  BOOST_TEST(run_tool(server, {"streams", "ls", "--json"}).lines.front() == "[]");  // the dry run changed nothing

  r = run_tool(server, {"apply", topology("deltran")});
  BOOST_TEST(r.status == 0);
  BOOST_TEST(has_line(r, "consumer REPORTING/reporting-engine-consumer     created"));
  r = run_tool(server, {"apply", topology("deltran")});
  BOOST_TEST(r.status == 0);
  BOOST_TEST(std::all_of(r.lines.begin(), r.lines.end(), [](const auto& l) { return l.ends_with("unchanged"); }));

  r = run_tool(server, {"streams", "info", "AUDIT", "--json"});
  BOOST_TEST(r.status == 0);
  BOOST_TEST(has_line(r, "\"max_age\":\"180d\""));
  r = run_tool(server, {"apply", topology("deltran"), "--replicas", "9"});  // refused before connecting
  BOOST_TEST(r.status == 2);
  BOOST_TEST(std::any_of(r.lines.begin(), r.lines.end(), [](const auto& l) {
    return l.find("--replicas: expected a whole number from 1 to 5, got \"9\"") != std::string::npos;
  }));
  r = run_tool(server, {"consumers", "ls", "NOTIFICATIONS"});
  BOOST_TEST(has_line(r, "notification-engine-consumer"));
  BOOST_TEST(run_tool(server, {"consumers", "rm", "NOTIFICATIONS", "notification-engine-consumer", "--force"}).status ==
             0);
  BOOST_TEST(run_tool(server, {"streams", "rm", "AUDIT", "--force"}).status == 0);
  r = run_tool(server, {"streams", "info", "AUDIT"});
  BOOST_TEST(r.status == 1);
  BOOST_TEST(has_line(r, "stream not found"));
}

BOOST_FIXTURE_TEST_CASE(bad_files_and_bad_usage_have_their_exit_codes_and_apply_nothing, server_fixture) {
  temp_dir dir;
  const std::pair<const char*, const char*> cases[] = {
      {R"({"streams": [{"subjects": ["a.>"]}]})", "streams[0]: missing \"name\""},
      {R"({"streams": [{"name": "A", "subjects": ["a.>"], "max_bytes": -7}]})", "max_bytes: expected a size"},
      {R"({"streams": [{"name": "A", "subjects": ["a.>"], "colour": "red"}]})", "unknown field \"colour\""},
      {R"({"streams": [{"name": "A", "subjects": ["a.>"], "max_age": "soon"}]})", "max_age: expected a duration"},
      {R"({"streams": [{"name": "A", "subjects": ["a.>"]}, {"name": "B", "subjects": ["a.b"]}]})",
       "\"a.b\" overlaps \"a.>\" of stream \"A\""},
  };
  int n = 0;
  for (const auto& [text, message] : cases) {
    const auto file = (dir.path() / ("bad" + std::to_string(n++) + ".json")).string();
    std::ofstream(file) << text;
    const auto r = run_tool(server, {"apply", file});
    BOOST_TEST(r.status == 1, file);
    BOOST_TEST(has_line(r, message), file << " should say " << message);
  }
  BOOST_TEST(run_tool(server, {"streams", "ls", "--json"}).lines.front() == "[]");  // nothing applied

  BOOST_TEST(run_tool(server, {"apply"}).status == 2);
  BOOST_TEST(run_tool(server, {"streams", "frobnicate"}).status == 2);
  BOOST_TEST(run_tool(server, {"nonsense"}).status == 2);
  BOOST_TEST(run_tool(server, {"apply", "--help"}).status == 0);
}

// pub --count 100, then sub --count 100 prints the same 100 events; a dead-lettered
// event replayed with dlq replay comes back to sub.
BOOST_FIXTURE_TEST_CASE(pub_sub_and_dlq_replay_round_trip, server_fixture) {
  BOOST_REQUIRE(run_tool(server, {"apply", topology("giia")}).status == 0);
  auto pub = run_tool(server, {"pub", "auth.user.7.created", "--type", "user.created", "--org", "org-1", "--data",
                               R"({"user": 7})", "--count", "100"});
  BOOST_TEST(pub.status == 0);
  BOOST_TEST(pub.lines.size() == 100u);
  BOOST_TEST(pub.lines.back() == "stored in AUTH_EVENTS #100");

  auto sub = run_tool(server, {"sub", "AUTH_EVENTS", "--durable", "cli-reader", "--count", "100"});
  BOOST_TEST(sub.status == 0);
  BOOST_REQUIRE(sub.lines.size() == 100u);
  std::set<std::string> ids;
  for (const auto& line : sub.lines) {
    const auto e = boost::json::parse(line).as_object();
    BOOST_TEST(e.at("type").as_string() == "user.created");
    BOOST_TEST(e.at("data").at("user").as_int64() == 7);
    ids.insert(std::string(e.at("id").as_string()));
  }
  BOOST_TEST(ids.size() == 100u);

  // A dead letter as the runner writes it.
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::publisher publisher{nc::jetstream{conn}, nc::publisher_options{}};
    auto evt = nc::event::make("user.deleted", "org-1", boost::json::object{{"user", 8}});
    evt.source = "test";
    co_await publisher.publish_raw(nc::raw_message{.subject = "dlq.auth.user.8.deleted",
                                                   .headers = {{"Natscoro-Original-Stream", "AUTH_EVENTS"},
                                                               {"Natscoro-Original-Subject", "auth.user.8.deleted"},
                                                               {"Natscoro-Original-Sequence", "7"},
                                                               {"Natscoro-Consumer", "analytics"},
                                                               {"Natscoro-Deliveries", "5"},
                                                               {"Natscoro-Error", "database unavailable"},
                                                               {"Natscoro-Failed-At", "2026-11-23T10:00:00.000000Z"}},
                                                   .data = nc::to_structured_json(evt)});
    co_await conn.drain();
  });
  auto ls = run_tool(server, {"dlq", "ls", "DLQ_EVENTS"});
  BOOST_TEST(ls.status == 0);
  BOOST_TEST(has_line(ls, "database unavailable"));
  auto replay = run_tool(server, {"dlq", "replay", "DLQ_EVENTS", "--all"});
  BOOST_TEST(replay.status == 0);
  BOOST_TEST(has_line(replay, "replayed 1 messages from DLQ_EVENTS"));
  sub = run_tool(server, {"sub", "AUTH_EVENTS", "--durable", "cli-reader", "--count", "1"});
  BOOST_REQUIRE(sub.lines.size() == 1u);
  BOOST_TEST(boost::json::parse(sub.lines[0]).at("type").as_string() == "user.deleted");
  BOOST_TEST(run_tool(server, {"dlq", "ls", "DLQ_EVENTS", "--json"}).lines.front() == "[]");
}

// Numbers and names from the command line are checked before anything is sent: "-1" is
// not 2^64-1 (it held every event in memory, or purged the whole stream), a name with a
// space is refused at once (it used to wait 5 s for a timeout), a missing file is named.
BOOST_FIXTURE_TEST_CASE(bad_arguments_are_refused_by_name, server_fixture) {
  BOOST_REQUIRE(run_tool(server, {"apply", topology("giia")}).status == 0);
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"pub", "auth.x", "--type", "t", "--org", "o", "--count", "-1"},
       "--count: expected a whole number from 1 to 1000000000, got \"-1\""},
      {{"pub", "auth.x", "--type", "t", "--org", "o", "--count", "18446744073709551615"}, "--count: expected"},
      {{"pub", "auth.*", "--type", "t", "--org", "o"}, "\"auth.*\" is not a subject one can publish to"},
      {{"streams", "purge", "AUTH_EVENTS", "--up-to", "-1"}, "--up-to: expected a whole number from 1"},
      {{"streams", "info", "AUTH EVENTS"}, "stream name \"AUTH EVENTS\" is not a valid name"},
      {{"consumers", "info", "AUTH_EVENTS", "a.b"}, "consumer name \"a.b\" is not a valid name"},
      {{"dlq", "show", "DLQ_EVENTS", "-1"}, "unrecognised option '-1'"},
      {{"dlq", "show", "DLQ_EVENTS", "0x10"}, "SEQ: expected a whole number from 1"},
      {{"dlq", "ls", "DLQ_EVENTS", "--limit", "0"}, "--limit: expected a whole number from 1 to 10000"},
      {{"sub", "AUTH_EVENTS", "--durable", "x", "--count", "-5"}, "--count: expected"},
  };
  for (const auto& [args, message] : cases) {
    const auto r = run_tool(server, args);
    BOOST_TEST(r.status == 2, args[0] << " " << args[1]);
    BOOST_TEST(has_line(r, message), args[0] << " " << args[1] << " should say " << message);
  }
  BOOST_TEST(run_tool(server, {"streams", "info", "AUTH_EVENTS"}).status == 0);  // nothing was purged
  BOOST_TEST(has_line(run_tool(server, {"streams", "ls"}), "AUTH_EVENTS"));

  auto r = run_tool(server, {"--creds", "/nonexistent/user.creds", "streams", "ls"});
  BOOST_TEST(r.status == 1);
  BOOST_TEST(has_line(r, "credentials_file \"/nonexistent/user.creds\" cannot be read (No such file or directory)"));
  r = run_tool(server, {"--tls-ca", "/nonexistent/ca.pem", "streams", "ls"});
  BOOST_TEST(r.status == 1);
  BOOST_TEST(has_line(r, "tls.ca_file \"/nonexistent/ca.pem\" cannot be read"));
}

// A message that is not a CloudEvent is reported once (it used to print about a thousand
// lines a second); a peek with --no-ack prints each message once and ends by itself.
BOOST_FIXTURE_TEST_CASE(sub_reports_a_poison_message_once_and_a_peek_ends, server_fixture) {
  BOOST_REQUIRE(run_tool(server, {"apply", topology("giia")}).status == 0);
  publish_raw(server, nc::raw_message{.subject = "auth.user.2.created", .data = "not json\x1b[2J"});
  BOOST_REQUIRE(
      run_tool(server, {"pub", "auth.user.1.created", "--type", "user.created", "--org", "o", "--count", "3"}).status ==
      0);
  auto peek = run_tool(server, {"sub", "AUTH_EVENTS", "--durable", "peeker", "--no-ack"});
  BOOST_TEST(peek.status == 1);         // the poison message
  BOOST_TEST(peek.lines.size() == 4u);  // three events and one report, each once
  BOOST_TEST(std::count_if(peek.lines.begin(), peek.lines.end(),
                           [](const auto& l) { return l.find("is not a CloudEvent") != std::string::npos; }) == 1);

  auto sub = run_tool(server, {"sub", "AUTH_EVENTS", "--durable", "reader", "--count", "3"});
  BOOST_TEST(sub.status == 1);
  BOOST_TEST(sub.lines.size() == 4u);
}

// Text from a stream reaches a person's terminal escaped: no escape sequence, no forged
// line; --json keeps it exact.
BOOST_FIXTURE_TEST_CASE(dlq_output_cannot_drive_the_terminal, server_fixture) {
  BOOST_REQUIRE(run_tool(server, {"apply", topology("giia")}).status == 0);
  publish_raw(server, nc::raw_message{.subject = "dlq.auth.user.8.deleted",
                                      .headers = {{"Natscoro-Original-Stream", "AUTH_EVENTS"},
                                                  {"Natscoro-Original-Subject", "auth.user.8.deleted"},
                                                  {"Natscoro-Error", "\x1b]0;owned\x07\x1b[2Jboom"}},
                                      .data = "line one\nFAKE 2026 [error] forged\x1b[31m"});
  auto ls = run_tool(server, {"dlq", "ls", "DLQ_EVENTS"});
  BOOST_TEST(ls.status == 0);
  BOOST_TEST(has_line(ls, R"(\x1b]0;owned\x07\x1b[2Jboom)"));
  auto show = run_tool(server, {"dlq", "show", "DLQ_EVENTS", "1"});
  BOOST_TEST(show.status == 0);
  BOOST_TEST(has_line(show, R"(data: line one\x0aFAKE 2026 [error] forged\x1b[31m)"));
  for (const auto& r : {ls, show})
    for (const auto& line : r.lines) {
      BOOST_TEST(line.find('\x1b') == std::string::npos, line);
      if (line.find("FAKE 2026") != std::string::npos)
        BOOST_TEST(line.find("data: line one") == 0u);  // not a line of its own
    }
  auto exact = run_tool(server, {"dlq", "show", "DLQ_EVENTS", "1", "--json"});
  BOOST_REQUIRE(exact.lines.size() == 1u);
  BOOST_TEST(boost::json::parse(exact.lines[0]).at("data").as_string() == "line one\nFAKE 2026 [error] forged\x1b[31m");
}

// A refusal the library has no name for still says what the server said ("JetStream
// API error 10074" alone named nothing).
BOOST_FIXTURE_TEST_CASE(server_refusals_carry_the_servers_reason, server_fixture) {
  temp_dir dir;
  const auto file = (dir.path() / "r3.json").string();
  std::ofstream(file) << R"({"streams": [{"name": "R3", "subjects": ["r3.>"], "replicas": 3}]})";
  const auto r = run_tool(server, {"apply", file});
  BOOST_TEST(r.status == 1);
  BOOST_TEST(has_line(r, "replicas > 1 not supported in non-clustered mode"));
}

// natscoro replay prints exactly the range asked for, one JSON line each, and leaves no consumer.
BOOST_FIXTURE_TEST_CASE(replay_prints_a_range_and_leaves_nothing_behind, server_fixture) {
  BOOST_REQUIRE(run_tool(server, {"apply", topology("giia")}).status == 0);
  BOOST_REQUIRE(run_tool(server, {"pub", "auth.user.1.created", "--type", "user.created", "--org", "o", "--data",
                                  R"({"n": 1})", "--count", "8"})
                    .status == 0);
  const auto consumers_before = run_tool(server, {"consumers", "ls", "AUTH_EVENTS", "--json"}).lines;
  auto r = run_tool(server, {"replay", "AUTH_EVENTS", "--from", "3", "--to", "6"});
  BOOST_TEST(r.status == 0);
  std::vector<std::uint64_t> sequences;
  for (const auto& line : r.lines) {
    if (line.rfind("natscoro replay:", 0) == 0) continue;
    const auto j = boost::json::parse(line).as_object();
    sequences.push_back(j.at("stream_sequence").to_number<std::uint64_t>());
    BOOST_TEST(j.at("event").at("type").as_string() == "user.created");
  }
  BOOST_TEST(sequences == (std::vector<std::uint64_t>{3, 4, 5, 6}), boost::test_tools::per_element());
  BOOST_TEST(has_line(r, "natscoro replay: 4 messages up to sequence 6"));
  BOOST_TEST(run_tool(server, {"consumers", "ls", "AUTH_EVENTS", "--json"}).lines == consumers_before);

  // What does not decode is reported on its line, escaped, and the exit code says so.
  publish_raw(server, nc::raw_message{.subject = "auth.user.2.created", .data = "not json\x1b[2J"});
  r = run_tool(server, {"replay", "AUTH_EVENTS", "--from", "8"});
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.lines.size() == 3u);  // message 8, the poison one, the summary
  BOOST_TEST(has_line(r, "not a cloudevents event: body is not JSON"));
  for (const auto& line : r.lines) BOOST_TEST(line.find('\x1b') == std::string::npos, line);
  // The raw envelope reads anything.
  r = run_tool(server, {"replay", "AUTH_EVENTS", "--from", "9", "--envelope", "raw"});
  BOOST_TEST(r.status == 0);
  BOOST_TEST(has_line(r, R"("type":"auth.user.2.created")"));

  for (const auto& [args, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"replay", "AUTH_EVENTS", "--from", "5", "--to", "4"}, "replay from sequence 5 to 4: from is after to"},
           {{"replay", "AUTH_EVENTS", "--from", "yesterday"}, "--from: expected a stream sequence or an RFC 3339 time"},
           {{"replay", "AUTH_EVENTS", "--envelope", "xml"}, "--envelope: cloudevents, plain or raw"},
           {{"replay", "AUTH EVENTS"}, "stream name \"AUTH EVENTS\" is not a valid name"}}) {
    const auto bad = run_tool(server, args);
    BOOST_TEST(bad.status == 2, message);
    BOOST_TEST(has_line(bad, message), message);
  }
  r = run_tool(server, {"replay", "NO_SUCH_STREAM"});
  BOOST_TEST(r.status == 1);
  BOOST_TEST(has_line(r, "stream not found"));
}

// --help works on every command word, and on each subcommand.
BOOST_FIXTURE_TEST_CASE(help_on_every_command_word, server_fixture) {
  const std::vector<std::vector<std::string>> words = {{"--help"},
                                                       {"apply", "--help"},
                                                       {"streams", "--help"},
                                                       {"streams", "ls", "--help"},
                                                       {"consumers", "--help"},
                                                       {"consumers", "info", "--help"},
                                                       {"pub", "--help"},
                                                       {"sub", "--help"},
                                                       {"dlq", "--help"},
                                                       {"dlq", "replay", "--help"},
                                                       {"replay", "--help"}};
  for (const auto& args : words) {
    const auto r = run_tool(server, args);
    BOOST_TEST(r.status == 0, args.front());
    BOOST_TEST(has_line(r, "usage: natscoro"), args.front());
  }
}

// As nats CLI users expect: --version, credentials from NATS_URL, NATS_USER and
// NATS_PASSWORD, confirmation before removing or purging (on a terminal; a script
// says --force), every configured field and human units, and a sub that leaves
// nothing behind.
BOOST_FIXTURE_TEST_CASE(the_tool_follows_the_nats_cli_conventions, server_fixture) {
  auto r = run_tool({"--version"});
  BOOST_TEST(r.status == 0);
  BOOST_TEST(r.lines.at(0) == std::string("natscoro ") + NATSCORO_VERSION_STRING + " (nats.c 3.4.1)");

  server_config guarded_config;
  guarded_config.extra = "authorization { user: app, password: s3cret }";
  nats_server guarded(guarded_config);
  {
    const scoped_env url("NATS_URL", guarded.url());
    r = run_tool({"streams", "ls"});
    BOOST_TEST(r.status == 1);
    BOOST_TEST(has_line(r, "authorization"));
    const scoped_env user("NATS_USER", "app");
    const scoped_env password("NATS_PASSWORD", "s3cret");
    r = run_tool({"streams", "ls"});
    BOOST_TEST(r.status == 0);
    BOOST_TEST(has_line(r, "STREAM"));
    r = run_tool({"--password", "wrong", "streams", "ls"});  // an option wins over the environment
    BOOST_TEST(r.status == 1);
  }

  const std::string file = (server.directory() / "units.json").string();
  std::ofstream(file) << R"({"streams": [{"name": "UNITS", "subjects": ["units.>"], "max_age": "1h",
                                           "max_bytes": "64MB"}]})";
  BOOST_REQUIRE(run_tool(server, {"apply", file}).status == 0);
  std::ofstream(file) << R"({"streams": [{"name": "UNITS", "subjects": ["units.>"], "max_age": "90m",
                                           "max_bytes": "1GB"}]})";
  r = run_tool(server, {"apply", file, "--dry-run"});
  BOOST_TEST(has_line(r, "max_age: server 1h, wanted 1h30m"));
  BOOST_TEST(has_line(r, "max_bytes: server 64MB, wanted 1GB"));
  r = run_tool(server, {"streams", "info", "UNITS"});
  for (const char* field : {"retention", "storage", "replicas", "max_msgs", "max_msg_size", "max_msgs_per_subject",
                            "discard", "allow_rollup", "deny_delete", "deny_purge"})
    BOOST_TEST(has_line(r, field), field);
  BOOST_TEST(has_line(r, "\"limits\""));
  BOOST_TEST(has_line(r, "\"2m\""));  // the duplicate window
  BOOST_TEST(has_line(r, "\"64MB\""));

  BOOST_REQUIRE(run_tool(server, {"pub", "units.a", "--type", "unit.measured", "--org", "o", "--count", "3"}).status ==
                0);
  r = run_tool(server, {"sub", "UNITS", "--count", "3"});  // no --durable: ephemeral
  BOOST_TEST(r.status == 0);
  BOOST_TEST(r.lines.size() == 3u);
  r = run_tool(server, {"sub", "UNITS", "--no-ack"});  // a peek ends by itself
  BOOST_TEST(r.status == 0);
  BOOST_TEST(r.lines.size() == 3u);
  BOOST_TEST(run_tool(server, {"consumers", "ls", "UNITS", "--json"}).lines.at(0) == "[]");  // nothing left behind

  // Without a terminal a removal must say --force; on one it asks.
  r = run_tool(server, {"streams", "rm", "UNITS"});
  BOOST_TEST(r.status == 2);
  BOOST_TEST(has_line(r, "streams rm: standard input is not a terminal to confirm on; --force"));
  r = run_tool(server, {"streams", "purge", "UNITS"}, "n\n");
  BOOST_TEST(r.status == 1);
  BOOST_TEST(has_line(r, "purge the messages of stream UNITS (3 messages,"));
  BOOST_TEST(has_line(r, "nothing purged"));
  r = run_tool(server, {"streams", "rm", "UNITS"}, "y\n");
  BOOST_TEST(r.status == 0);
  BOOST_TEST(has_line(r, "delete stream UNITS with its 3 messages and 0 consumers? [y/N]"));
  BOOST_TEST(has_line(r, "deleted stream UNITS"));
  BOOST_TEST(!has_line(run_tool(server, {"streams", "ls"}), "UNITS"));
}
