// What elements-pack says on stderr while it works: a line per phase.
#pragma once

#include <string>

#include "cli.hpp"

namespace elements::builder {

class progress {
 public:
  progress(progress_mode mode, bool quiet);
  void phase(const std::string& message) const;
  void warn(const std::string& message) const;

 private:
  bool phases_;
  bool warnings_;
};

}  // namespace elements::builder
