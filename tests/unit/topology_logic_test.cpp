// Stream configurations against what the server reports: no server.
#include <natscoro/detail/jetstream_api.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

namespace nc = natscoro;
namespace json = boost::json;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(stream_configuration)

namespace {

nc::stream_config auth_events() {
  nc::stream_config s;
  s.name = "AUTH_EVENTS";
  s.subjects = {"auth.>", "login.>"};
  s.max_age = std::chrono::hours(168);
  return s;
}

// What nats-server 2.9 reports for auth_events(): subjects in its own order, no description, no false flags.
json::object as_reported() {
  auto o = nc::detail::to_json(auth_events());
  o["subjects"] = json::array{"login.>", "auth.>"};
  o.erase("allow_rollup_hdrs");
  o.erase("deny_delete");
  o["max_consumers"] = -1;  // a field natscoro does not manage
  return o;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_same_configuration_as_reported_has_no_differences) {
  BOOST_TEST(nc::detail::compare(auth_events(), as_reported()).empty());
}

BOOST_AUTO_TEST_CASE(each_difference_names_the_field_and_whether_it_can_change) {
  auto wanted = auth_events();
  wanted.max_age = std::chrono::hours(24);
  wanted.storage = nc::storage_type::memory;
  const auto diffs = nc::detail::compare(wanted, as_reported());
  BOOST_REQUIRE(diffs.size() == 2u);
  for (const auto& d : diffs) {
    if (d.field == "max_age") {
      BOOST_TEST(d.updatable);
      BOOST_TEST(d.wanted == "86400000000000");
    } else {
      BOOST_TEST(d.field == "storage");
      BOOST_TEST(!d.updatable);
      BOOST_TEST(d.server == "\"file\"");
    }
  }
  BOOST_TEST(nc::detail::describe(diffs).find("storage: server \"file\", wanted \"memory\" (cannot be changed)") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(deny_delete_once_set_cannot_be_taken_back) {
  auto reported = as_reported();
  reported["deny_delete"] = true;
  const auto diffs = nc::detail::compare(auth_events(), reported);
  BOOST_REQUIRE(diffs.size() == 1u);
  BOOST_TEST(!diffs[0].updatable);
  auto wanted = auth_events();
  wanted.deny_delete = true;
  BOOST_TEST(nc::detail::compare(wanted, as_reported()).front().updatable);  // false -> true is fine
}

BOOST_AUTO_TEST_CASE(a_reported_configuration_reads_back) {
  auto cfg = auth_events();
  cfg.retention = nc::retention_policy::work_queue;
  cfg.discard = nc::discard_policy::new_messages;
  cfg.max_msgs_per_subject = 10;
  cfg.allow_rollup = true;
  const auto back = nc::detail::stream_config_from_json(nc::detail::to_json(cfg));
  BOOST_TEST(nc::detail::compare(cfg, nc::detail::to_json(back)).empty());
  BOOST_TEST((back.retention == nc::retention_policy::work_queue));
  BOOST_TEST(back.max_msgs_per_subject == 10);
}

BOOST_AUTO_TEST_SUITE_END()
