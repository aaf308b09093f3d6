// The definition (element.json, DESIGN.md section 4): reading, validation
// and the resolved model the rest of the builder works from.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "builder/sources/source.hpp"
#include "elements/spec.hpp"

namespace elements::builder {

// {"copy": SRC, "to": DEST, "owner": "UID:GID", "mode": "0644"}
struct copy_step {
  std::string pointer;           // "/build/0", for messages
  std::string source_text;       // as written
  std::filesystem::path source;  // resolved against the definition's folder
  std::string target;            // absolute path in the rootfs
  std::optional<std::pair<std::uint32_t, std::uint32_t>> owner;
  std::optional<mode_t> mode;
};

// {"run": ["ARG", ...]} or {"run": "shell line"}, which runs as /bin/sh -c LINE.
struct run_step {
  std::vector<std::string> argv;
};

// One entry of "build": a copy or a run step.
struct build_step {
  std::string pointer;            // "/build/0", for messages
  std::optional<copy_step> copy;  // set for a copy step
  std::optional<run_step> run;    // set for a run step
  std::string canonical;          // the step's JSON with sorted keys: part of its cache key
  std::string summary;            // one line for progress and `cache ls`
};

struct desktop_options {
  std::optional<std::filesystem::path> icon;  // .png or .svg, resolved
  std::vector<std::string> categories;
  bool terminal = true;
};

struct definition {
  std::string file;              // as named on the command line, for messages
  std::filesystem::path folder;  // relative paths in the definition start here
  std::string name;
  std::optional<std::string> from;         // as written; --from replaces it
  std::optional<std::string> from_option;  // --from as given, relative to the current folder
  // The rootfs source, resolved and opened once by open_rootfs_source:
  // an image's while the definition is read (its config fills "run"), the
  // others' when the build asks for it.
  std::shared_ptr<source> rootfs_source;
  std::vector<build_step> build;
  desktop_options desktop;
  std::string update_information;
  spec run;  // validated by the same parse_spec as the runtime's, image defaults filled in
  // What an image's config could not carry over into "run", for the user to see.
  std::vector<std::string> warnings;
};

// Reads `path` (a definition file, or a folder holding element.json).
// Throws usage_error "FILE:LINE:COLUMN: ..." for JSON syntax errors and
// "FILE: /pointer: ..." for everything the schema or the runtime refuses.
// When the source (`from_option`, as --from gives it, else "from") is an OCI
// or docker image, its config fills what "run" leaves out.
definition load_definition(const std::filesystem::path& path,
                           const std::optional<std::string>& from_option = std::nullopt);

// The same for text already in memory; `file` names it in messages and its
// folder anchors relative paths.
definition parse_definition(std::string_view text, const std::filesystem::path& file,
                            const std::optional<std::string>& from_option = std::nullopt);

// The rootfs source: --from when given (relative to the current folder), else
// the definition's "from".
source_ref resolve_source(const definition& def, const std::optional<std::string>& from_option);

// The definition's source (resolve_source with its from_option), opened on
// the first call and kept, so that what an image's config gave "run" and
// the tree come from one reading of the image.
source& open_rootfs_source(definition& def);

// 1-based line and column (in characters) of byte `offset` of `text`.
std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t offset);

// Longest update information the runtime's .upd_info section holds. Like
// appimagetool, a value that fills the section leaves no NUL: readers take at
// most the section's size.
inline constexpr std::size_t max_update_information = 1024;

}  // namespace elements::builder
