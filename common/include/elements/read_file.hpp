// A whole small file into memory (specs, /proc entries).
#pragma once

#include <string>

namespace elements {

// Throws elements::error carrying errno (code()) when it cannot be read.
std::string read_file(const std::string& path);

// Everything an open file holds, read with pread from offset 0 (a memory
// file a child wrote into, whatever its offset). `name` names it in errors.
std::string read_from_start(int fd, const std::string& name);

}  // namespace elements
