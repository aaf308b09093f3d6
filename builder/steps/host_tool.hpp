// Outside tools elements-pack runs on the host (gpg, zsyncmake): found in
// PATH, fed from memory or a file, their output captured.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace elements::builder {

struct tool_result {
  int status = 0;   // exit status, or 128+N when signal N ended it
  std::string out;  // all of stdout
  std::string err;  // all of stderr
};

// A tool the build needs and the Debian package that ships it, for messages.
struct host_tool {
  std::string_view name;
  std::string_view package;
};

// Throws error (exit 1) "NAME: not found in PATH (hint: install PACKAGE)"
// unless the tool is there.
void require_tool(const host_tool& tool, std::string_view why);

// Runs tool with `args` (argv[1..]); stdin is `input_fd` when >= 0, else the
// bytes of `input`. Throws when the tool cannot be started.
tool_result run_tool(const host_tool& tool, const std::vector<std::string>& args,
                     std::string_view input, int input_fd = -1);

// The last non-empty line of a tool's stderr, for a one-line message.
std::string last_line(std::string_view text);

}  // namespace elements::builder
