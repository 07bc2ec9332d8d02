#define BOOST_TEST_MODULE natscoro cli
#include <natscoro/natscoro.hpp>

#include "async_test.hpp"
#include "child_process.hpp"
#include "nats_server.hpp"
#include "test_options.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <fstream>
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

// Runs the natscoro tool against `server` to its end.
run_result run_tool(const nats_server& server, std::vector<std::string> args) {
  args.insert(args.begin(), {NATSCORO_CLI, "--server", server.url()});
  child_process child(args, true);
  run_result r;
  for (std::string line = child.read_line(20s); !line.empty(); line = child.read_line(20s)) r.lines.push_back(line);
  r.status = child.wait();
  return r;
}

bool has_line(const run_result& r, const std::string& text) {
  return std::any_of(r.lines.begin(), r.lines.end(), [&](const auto& l) { return l.find(text) != std::string::npos; });
}

std::string topology(const std::string& name) { return std::string(NATSCORO_TOPOLOGIES) + "/" + name + ".json"; }

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
  r = run_tool(server, {"consumers", "ls", "NOTIFICATIONS"});
  BOOST_TEST(has_line(r, "notification-engine-consumer"));
  BOOST_TEST(run_tool(server, {"consumers", "rm", "NOTIFICATIONS", "notification-engine-consumer"}).status == 0);
  BOOST_TEST(run_tool(server, {"streams", "rm", "AUDIT"}).status == 0);
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
    co_await publisher.publish_raw(nc::raw_message{
        .subject = "dlq.auth.user.8.deleted",
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
