// A whole small file into memory (specs, /proc entries).
#pragma once

#include <string>

namespace elements {

// Throws elements::error carrying errno (code()) when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace elements
