// The file's own command line, as its spec declares it (DESIGN.md sections
// 2 and 3): reserved words, options and positionals, made into a plan.
#pragma once

#include <string>
#include <vector>

#include "elements/spec.hpp"
#include "runtime/container/plan.hpp"
#include "runtime/host_context.hpp"

namespace elements::runtime {

enum class action {
  run,         // start the container with the plan
  help,        // print help_text() and exit 0
  spec,        // print the spec and exit 0
  exec,        // --elements-exec ID -- CMD...
  oci_bundle,  // --elements-oci-bundle DIR: write the plan as an OCI bundle
};

struct invocation {
  action what = action::run;
  bool debug = false;                  // --elements-debug or ELEMENTS_DEBUG=1
  plan run;                            // for action::run (name only for the others)
  std::string exec_id;                 // for action::exec: the ELEMENTS_ID as given
  std::vector<std::string> exec_argv;  // for action::exec, never empty
  std::string bundle_dir;              // for action::oci_bundle, absolute
};

// Parses argv[1..] (the --appimage-* words are handled before this). Throws
// elements::usage_error (exit 2) with one line naming the argument and the fix.
// The only syscalls are getrandom(2) and check_host_path() on bind sources.
invocation parse_command_line(const spec& s, const std::vector<std::string>& args,
                              const host_context& host);

// --elements-debug before "--", or ELEMENTS_DEBUG: asked before the spec is
// read, so that its first steps are timed too.
bool debug_requested(const std::vector<std::string>& args, const host_context& host);

// --help, generated from the spec: description, usage, each arg with its
// type, default and help, then the reserved options. `argv0` names the file
// in the usage line (its base name; NAME.AppImage when empty).
std::string help_text(const spec& s, const std::string& argv0);

// Throws usage_error "WHO: "PATH" does not exist|is not readable (...)" unless
// `path` (absolute) exists and the caller may read it.
void check_host_path(const std::string& path, const std::string& who);

}  // namespace elements::runtime
