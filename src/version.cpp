#include <natscoro/version.hpp>

namespace natscoro {

const char* version() noexcept { return NATSCORO_VERSION_STRING; }

}  // namespace natscoro
