#include <natscoro/error.hpp>

#include <boost/test/unit_test.hpp>

namespace nc = natscoro;

BOOST_AUTO_TEST_SUITE(errors)

BOOST_AUTO_TEST_CASE(library_codes_compare_with_their_enum_and_read_clearly) {
  const nc::error_code ec = nc::errc::payload_too_large;
  BOOST_TEST(ec == nc::errc::payload_too_large);
  BOOST_TEST(ec != nc::errc::invalid_event);
  BOOST_TEST(std::string(ec.category().name()) == "natscoro");
  BOOST_TEST(ec.message() == "payload larger than the server's max_payload");
}

BOOST_AUTO_TEST_CASE(nats_statuses_map_to_named_codes) {
  const nc::error_code unreachable = nc::nats_error(6);  // NATS_NO_SERVER
  BOOST_TEST(unreachable == nc::nats_errc::no_server);
  BOOST_TEST(unreachable.message().find("unreachable") != std::string::npos);
  BOOST_TEST(nc::nats_error(11) == nc::nats_errc::authorization_failed);
  BOOST_TEST(nc::nats_error(29) == nc::nats_errc::ssl_error);
  BOOST_TEST(!nc::nats_error(0));
  // Statuses without a named enumerator keep nats.c's text.
  BOOST_TEST(!nc::nats_error(3).message().empty());
}

BOOST_AUTO_TEST_CASE(categories_are_distinct) {
  BOOST_TEST(nc::error_code(1, nc::library_category()) != nc::error_code(1, nc::nats_category()));
  BOOST_TEST(nc::jetstream_error(10059) != nc::nats_error(10059));
  BOOST_TEST(nc::jetstream_error(10059) == nc::jetstream_errc::stream_not_found);
  BOOST_TEST(nc::jetstream_error(10059).message() == "stream not found");
  BOOST_TEST(nc::jetstream_error(19999).message().find("19999") !=
             std::string::npos);  // unnamed codes keep their number
}

BOOST_AUTO_TEST_CASE(the_exception_carries_code_and_detail) {
  try {
    throw nc::error(nc::errc::invalid_event, "attribute 'source' is empty");
  } catch (const boost::system::system_error& e) {
    BOOST_TEST(e.code() == nc::errc::invalid_event);
    BOOST_TEST(std::string(e.what()).find("attribute 'source' is empty") != std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()
