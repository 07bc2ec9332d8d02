// Message headers, in order, names as they came (compare them case-insensitively).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace natscoro {

using header_list = std::vector<std::pair<std::string, std::string>>;

}  // namespace natscoro
