// The subcommands of elements-pack, as one table: the first word of the
// command line names one; packing, the default, is named by none.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "builder/cli.hpp"

namespace elements::builder {

struct command {
  std::string_view name;     // the first word; empty for packing
  std::string_view usage;    // what follows the name, for elements-pack --help
  std::string_view summary;  // what it does, for the same
  // Parses argv from the command's own word on (argv[0]); throws
  // usage_error naming the option and the fix.
  pack_options (*parse)(int argc, char** argv);
  // Does the work; its value is the exit status.
  int (*run)(const pack_options& options);
};

// Every command, packing last.
std::span<const command> commands();

// The command `argv[1]` names, else packing (whose DEFINITION it then is):
// a definition folder may be named like a command once it holds a "/".
const command& find_command(int argc, char** argv);

// The lines of elements-pack --help that name the other commands.
std::string command_summaries();

// The bodies of the commands.
int run_pack(const pack_options& options);
int run_export(const pack_options& options);
int run_convert(const pack_options& options);
int run_cache(const pack_options& options);

}  // namespace elements::builder
