// Subject templates: the subject built from the event, the key in a token of its own.
#include <natscoro/detail/subject_template.hpp>

#include <boost/test/unit_test.hpp>

#include <string>

namespace nc = natscoro;
using nc::detail::subject_template;

BOOST_AUTO_TEST_SUITE(subject_templates)

namespace {

nc::event order(std::string key) {
  auto e = nc::event::make("order.created", "org-1");
  e.id = "e-1";
  e.subject = std::move(key);
  return e;
}

std::string rendered(const std::string& text, const nc::event& e, nc::error_code& ec, std::string& detail) {
  subject_template t;
  if ((ec = subject_template::parse(text, t, detail))) return {};
  std::string out;
  ec = t.render(e, out, detail);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(placeholders_fill_their_tokens) {
  nc::error_code ec;
  std::string detail;
  auto e = order("42");
  e.extensions["region"] = "eu";
  BOOST_TEST(rendered("orders.{subject}.{type}", e, ec, detail) == "orders.42.order.created");
  BOOST_TEST(!ec);
  BOOST_TEST(rendered("{organization}.{region}.{subject}", e, ec, detail) == "org-1.eu.42");
  BOOST_TEST(!ec);
  BOOST_TEST(rendered("t-{subject}.x", e, ec, detail) == "t-42.x");  // part of a token
  BOOST_TEST(!ec);
  BOOST_TEST(rendered("fixed.subject", e, ec, detail) == "fixed.subject");
  BOOST_TEST(!ec);
}

BOOST_AUTO_TEST_CASE(a_template_that_cannot_make_a_subject_is_refused_by_name) {
  subject_template t;
  std::string detail;
  const std::pair<const char*, const char*> bad[] = {
      {"orders.{entity-key}", "unknown placeholder {entity-key}"},
      {"orders.{subject", "not closed"},
      {"orders..{type}", "literal text"},
      {"orders.*.{type}", "literal text"},
      {"orders {type}", "literal text"},
      {"", "empty"},
      {"orders.{Region}", "unknown placeholder"},
  };
  for (const auto& [text, why] : bad) {
    BOOST_TEST((subject_template::parse(text, t, detail) == nc::errc::invalid_argument), text);
    BOOST_TEST(detail.find(why) != std::string::npos, text << ": " << detail);
    BOOST_TEST(t.empty());
  }
}

BOOST_AUTO_TEST_CASE(a_value_that_cannot_fill_its_token_is_refused_by_placeholder) {
  nc::error_code ec;
  std::string detail;
  for (const char* key : {"", "a.b", "*", ">", "a b", "a\r\nPUB x"}) {
    rendered("orders.{subject}.{type}", order(key), ec, detail);
    BOOST_TEST((ec == nc::errc::invalid_subject), key);
    BOOST_TEST(detail.find("{subject}") != std::string::npos, detail);
  }
  auto no_key = order("x");
  no_key.subject.reset();
  rendered("orders.{subject}", no_key, ec, detail);
  BOOST_TEST((ec == nc::errc::invalid_subject));
  BOOST_TEST(detail.find("{subject} is missing") != std::string::npos, detail);
  rendered("orders.{region}", order("42"), ec, detail);
  BOOST_TEST((ec == nc::errc::invalid_subject));
  BOOST_TEST(detail.find("{region} is missing") != std::string::npos, detail);
  auto odd_type = order("42");
  odd_type.type = "order..created";
  rendered("orders.{type}", odd_type, ec, detail);
  BOOST_TEST((ec == nc::errc::invalid_subject), detail);
}

BOOST_AUTO_TEST_SUITE_END()
