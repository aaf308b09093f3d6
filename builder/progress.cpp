#include "progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace elements::builder {

progress::progress(progress_mode mode, bool quiet)
    : phases_(!quiet && (mode == progress_mode::always ||
                         (mode == progress_mode::automatic && ::isatty(STDERR_FILENO)))),
      warnings_(!quiet) {}

void progress::phase(const std::string& message) const {
  if (phases_) std::fprintf(stderr, "elements-pack: %s\n", message.c_str());
}

void progress::warn(const std::string& message) const {
  if (warnings_) std::fprintf(stderr, "elements-pack: warning: %s\n", message.c_str());
}

}  // namespace elements::builder
