// libFuzzer target: the topology file parser. Refusals are natscoro::error; any other
// exception escaping it is a bug (it made `natscoro apply` abort).
#include <natscoro/topology.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)natscoro::parse_topology(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const natscoro::error&) {
  }
  return 0;
}
