// Where a rootfs comes from (the definition's "from" or --from): the kinds
// the builder knows, and the interface each kind implements.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "tree.hpp"

namespace elements::builder {

enum class source_kind { scratch, dir, tar, oci, docker_archive };

struct source_ref {
  source_kind kind = source_kind::scratch;
  std::string text;            // as written, for messages and --check
  std::filesystem::path path;  // resolved; empty for scratch
};

// Parses "dir:PATH", "tar:PATH", "oci:PATH[:REF]", "docker-archive:PATH" or
// "scratch", resolving PATH against `base`. Throws usage_error, prefixed with
// `where` ("element.json: /from", "--from"), for an unknown kind, a kind this
// build cannot read yet, or a dir: that is not a folder.
source_ref parse_source_ref(std::string_view text, const std::filesystem::path& base,
                            std::string_view where);

// A rootfs provider. Image formats (tar, OCI, docker archives) plug in here:
// each turns its input into one tree whose root is the container's "/".
class source {
 public:
  virtual ~source() = default;
  virtual node_ptr read_tree() = 0;
};

std::unique_ptr<source> open_source(const source_ref& ref, const made_attrs& made);

// The kinds, one per file.
std::unique_ptr<source> make_scratch_source(const made_attrs& made);
std::unique_ptr<source> make_dir_source(std::filesystem::path path);

}  // namespace elements::builder
