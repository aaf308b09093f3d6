// The file's own command line, as its spec declares it (DESIGN.md sections
// 2 and 3): reserved words, options and positionals, made into a plan.
#pragma once

#include <string>
#include <vector>

#include "elements/spec.hpp"
#include "plan.hpp"

namespace elements::runtime {

// What the host gives a run: read once in main, passed in so parsing stays pure.
struct host_context {
  std::vector<std::string> environ;  // "NAME=value"
  std::string cwd;                   // for relative paths
  std::string argv0;                 // how the file was called (ELEMENTS_ARGV0)
  unsigned uid = 0;
  unsigned gid = 0;
};

enum class action {
  run,    // start the container with the plan
  help,   // print help_text() and exit 0
  spec,   // print the spec and exit 0
  exec,   // --elements-exec ID -- CMD...
};

struct invocation {
  action what = action::run;
  bool debug = false;                  // --elements-debug or ELEMENTS_DEBUG=1
  plan run;                            // for action::run
  std::string exec_id;                 // for action::exec
  std::vector<std::string> exec_argv;  // for action::exec
};

// Parses argv[1..] (the --appimage-* words are handled before this). Throws
// elements::usage_error (exit 2) with one line naming the argument and the fix.
invocation parse_command_line(const spec& s, const std::vector<std::string>& args,
                              const host_context& host);

// --help, generated from the spec: description, usage, each arg with its
// type, default and help.
std::string help_text(const spec& s, const std::string& argv0);

}  // namespace elements::runtime
