// The processed-id store's keys and bucket (no I/O).
#include <natscoro/detail/names.hpp>
#include <natscoro/detail/processed_id_store.hpp>

#include <boost/test/unit_test.hpp>

namespace nc = natscoro;
using nc::detail::processed_id_key;

BOOST_AUTO_TEST_SUITE(processed_ids)

BOOST_AUTO_TEST_CASE(uuids_are_kept_readable_and_anything_else_becomes_one_token) {
  BOOST_TEST(processed_id_key("billing", "6f1c2a34-0d5e-4b8e-9a61-3c0f1d2e4b5a") ==
             "billing.r.6f1c2a34-0d5e-4b8e-9a61-3c0f1d2e4b5a");
  // Stream positions (plain JSON without Nats-Msg-Id), dots, wildcards, spaces: base64url.
  const auto position = processed_id_key("billing", "AML_EVENTS/32");
  BOOST_TEST(position == "billing.b.QU1MX0VWRU5UUy8zMg");
  for (const std::string& hostile :
       std::vector<std::string>{"a.b", "*", ">", "a b", "\x1b[2J", "$JS.API.STREAM.DELETE.X", std::string("\0x", 2)}) {
    const auto key = processed_id_key("billing", hostile);
    BOOST_TEST(key.rfind("billing.b.", 0) == 0u, hostile);
    BOOST_TEST(nc::detail::valid_publish_subject("$KV.ids." + key), key);
    BOOST_TEST(key.find('.', 10) == std::string::npos, key);  // one token after the prefix
  }
  // Different ids, different keys: the two forms cannot meet.
  BOOST_TEST(processed_id_key("c", "QQ") != processed_id_key("c", "A"));
  BOOST_TEST(processed_id_key("c", std::string(256, 'x')).size() > 0u);
  BOOST_TEST(processed_id_key("c", std::string(257, 'x')).empty());
  BOOST_TEST(processed_id_key("c", "").empty());
}

BOOST_AUTO_TEST_CASE(the_bucket_is_configured_as_a_key_value_bucket) {
  const auto cfg =
      nc::detail::processed_id_bucket_config({.bucket = "processed", .ttl = std::chrono::hours(24), .replicas = 3});
  BOOST_TEST(cfg.name == "KV_processed");
  BOOST_TEST(cfg.subjects == std::vector<std::string>{"$KV.processed.>"});
  BOOST_TEST(cfg.max_msgs_per_subject == 1);
  BOOST_TEST((cfg.max_age == std::chrono::hours(24)));
  BOOST_TEST((cfg.duplicate_window == std::chrono::minutes(2)));
  BOOST_TEST(cfg.replicas == 3);
  BOOST_TEST(cfg.deny_delete);
  BOOST_TEST(
      (nc::detail::processed_id_bucket_config({.bucket = "p", .ttl = std::chrono::seconds(30)}).duplicate_window ==
       std::chrono::seconds(30)));
  BOOST_TEST(nc::detail::valid_bucket_name("processed-ids_1"));
  BOOST_TEST(!nc::detail::valid_bucket_name("a.b"));
  BOOST_TEST(!nc::detail::valid_bucket_name(""));
}

BOOST_AUTO_TEST_SUITE_END()
