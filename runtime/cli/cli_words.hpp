// The words of the command line before they mean anything: the runtime's
// own reserved words split off from the spec's, and the spec's words read
// against its args. Internal to cli*.cpp; cli.hpp is the interface.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "runtime/cli/cli.hpp"

namespace elements::runtime {

// Reserved words found before "--" (DESIGN.md section 3), and what remains.
struct reserved_words {
  action what = action::run;
  bool shell = false;
  std::string exec_id;
  std::vector<std::string> exec_argv;
  std::string bundle_dir;
  std::vector<std::string> words;  // for the spec's own args
  std::vector<std::string> extra;  // after "--"
};

// Splits off the reserved words (help, --elements-*) and the words after
// "--"; throws usage_error on a malformed --elements-exec or -oci-bundle.
reserved_words scan_reserved(const std::vector<std::string>& args);

// Reads the words before "--" the way getopt_long does: "--name VALUE",
// "--name=VALUE", "-x VALUE", "-xVALUE", bundled flags ("-vq", "-vqp8080"),
// and positionals in order; a value-taking option takes the next word
// whatever it looks like. "-5" is a positional when no short option is a
// digit, as in Python's argparse. Returns the word given to each arg by name
// (the last one when an option repeats), untyped.
std::map<std::string, std::string> parse_words(const spec& s,
                                               const std::vector<std::string>& words);

}  // namespace elements::runtime
