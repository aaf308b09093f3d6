// The command line of elements-pack (DESIGN.md section 4).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "builder/squashfs/squashfs_writer.hpp"
#include "elements/enum_table.hpp"

namespace elements::builder {

enum class progress_mode { automatic, always, never };
inline constexpr enum_name<progress_mode> progress_modes[] = {{progress_mode::automatic, "auto"},
                                                              {progress_mode::always, "always"},
                                                              {progress_mode::never, "never"}};

struct command;  // commands.hpp

struct pack_options {
  // What to run: the entry of the command table the first word named.
  const command* subcommand = nullptr;
  std::filesystem::path definition;
  std::optional<std::filesystem::path> output;
  std::optional<std::string> from;
  compression comp;
  std::optional<std::filesystem::path> runtime;
  std::optional<std::string> sign;                // --sign KEY: a GnuPG secret key
  std::optional<std::int64_t> source_date_epoch;  // --source-date-epoch, else SOURCE_DATE_EPOCH
  bool no_cache = false;
  bool check = false;
  progress_mode progress = progress_mode::automatic;
  bool quiet = false;
  // Set for -h and -V: the text to print on stdout before exiting 0.
  std::optional<std::string> answer;
  // The words of the other commands, set by their parse:
  // `elements-pack convert FILE.def`: print its element.json instead of packing.
  std::optional<std::filesystem::path> convert;
  // `elements-pack export DEFINITION oci:DIR[:TAG]`: write an image, not a file.
  std::optional<std::string> export_to;
  // `elements-pack cache ls` or `cache prune [--all | --older-than DAYS]`.
  struct cache_command {
    bool prune = false;                           // else ls
    std::optional<std::int64_t> older_than_days;  // prune: unset means --all
  };
  std::optional<cache_command> cache;
};

// The command table's entry argv[1] names, and its options. Throws
// usage_error naming the option and the fix.
pack_options parse_cli(int argc, char** argv);

// The parse of each command, argv starting at its word (the program's name
// for packing).
pack_options parse_pack_cli(int argc, char** argv);
pack_options parse_convert_cli(int argc, char** argv);
pack_options parse_export_cli(int argc, char** argv);
pack_options parse_cache_cli(int argc, char** argv);

// Parses a SOURCE_DATE_EPOCH value: seconds since 1970 that fit the image's
// 32-bit timestamps. `where` names it in the message.
std::int64_t parse_epoch(const std::string& text, const std::string& where);

}  // namespace elements::builder
