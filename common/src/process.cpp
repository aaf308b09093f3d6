#include "elements/process.hpp"

#include <sys/wait.h>
#include <unistd.h>

namespace elements {

int status_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  return 128 + WTERMSIG(wait_status);
}

std::string_view path_or_default(const char* value) {
  return value && *value ? std::string_view(value) : default_path;
}

std::string find_program(std::string_view name, std::string_view dirs, empty_entry empty) {
  for (;;) {
    const auto colon = dirs.find(':');
    std::string_view dir = dirs.substr(0, colon);
    if (dir.empty() && empty == empty_entry::current_dir) dir = ".";
    if (!dir.empty()) {
      std::string candidate = std::string(dir) + "/" + std::string(name);
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    if (colon == std::string_view::npos) return {};
    dirs.remove_prefix(colon + 1);
  }
}

}  // namespace elements
