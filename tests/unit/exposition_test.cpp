// The Prometheus text format without I/O: families together, escaped label
// values, cumulative histogram buckets.
#include <natscoro/detail/exposition.hpp>

#include <boost/test/unit_test.hpp>

using natscoro::detail::exposition;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(prometheus_exposition)

BOOST_AUTO_TEST_CASE(samples_of_a_family_stay_together_under_one_header) {
  exposition e;
  e.counter("a_total", "the a", {{"x", "1"}}, 3);
  e.gauge("b", "the b", {}, 0.5);
  e.counter("a_total", "the a", {{"x", "2"}}, 4);
  BOOST_TEST(e.text() ==
             "# HELP a_total the a\n# TYPE a_total counter\na_total{x=\"1\"} 3\na_total{x=\"2\"} 4\n"
             "# HELP b the b\n# TYPE b gauge\nb 0.5\n");
}

BOOST_AUTO_TEST_CASE(label_values_are_escaped) {
  BOOST_TEST(exposition::escaped("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
  exposition e;
  e.gauge("g", "h", {{"name", "x\"y"}}, 1);
  BOOST_TEST(e.text().find("g{name=\"x\\\"y\"} 1\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(histogram_buckets_are_cumulative_up_to_inf) {
  natscoro::latency_histogram h;
  h.record(200us);  // in the first bucket (0.0005)
  h.record(3ms);    // 0.005
  h.record(3ms);
  h.record(20s);  // above every bound
  BOOST_TEST(h.count == 4u);
  exposition e;
  e.histogram("lat_seconds", "latency", {{"p", "q"}}, h);
  const auto text = e.text();
  BOOST_TEST(text.find("lat_seconds_bucket{p=\"q\",le=\"0.0005\"} 1\n") != std::string::npos);
  BOOST_TEST(text.find("lat_seconds_bucket{p=\"q\",le=\"0.0025\"} 1\n") != std::string::npos);
  BOOST_TEST(text.find("lat_seconds_bucket{p=\"q\",le=\"0.005\"} 3\n") != std::string::npos);
  BOOST_TEST(text.find("lat_seconds_bucket{p=\"q\",le=\"10\"} 3\n") != std::string::npos);
  BOOST_TEST(text.find("lat_seconds_bucket{p=\"q\",le=\"+Inf\"} 4\n") != std::string::npos);
  BOOST_TEST(text.find("lat_seconds_count{p=\"q\"} 4\n") != std::string::npos);
  BOOST_TEST(text.find("lat_seconds_sum{p=\"q\"} 20.0062\n") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
