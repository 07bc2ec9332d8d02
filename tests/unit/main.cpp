#define BOOST_TEST_MODULE natscoro unit tests
#include <boost/test/unit_test.hpp>
