// The per-step build cache (DESIGN.md section 4): each run step's result, a
// tar layer, stored under ${XDG_CACHE_HOME:-~/.cache}/elements/steps/ by a
// key that chains the base tree's digest, every step before it and the
// content each copy step adds. The runtime's extract cache lives beside it in
// ${XDG_CACHE_HOME:-~/.cache}/elements/<payload digest>/.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "builder/tree.hpp"
#include "elements/unique_fd.hpp"

namespace elements::builder {

// ${XDG_CACHE_HOME:-$HOME/.cache}, the folder the cache's own elements/steps
// is in; nullopt when neither is an absolute path.
std::optional<std::filesystem::path> step_cache_dir();

// The digest of a tree: every path, type, mode, owner, mtime, xattr, link
// target, device number, hard link and byte of content.
std::string tree_digest(const node_ptr& root);

// The key of a step: the previous key (or the base tree's digest), the step's
// canonical JSON and the digest of what it copies in (for a run step, the
// ids it runs with).
std::string step_key(const std::string& previous, const std::string& step_json,
                     const std::string& content_digest);

struct cache_entry {
  std::string key;  // 64 hex digits
  std::string summary;
  std::uint64_t size = 0;
  std::int64_t last_used = 0;  // seconds since 1970
};

// Every entry is reached through the folders base/elements/steps opened
// without following a symlink, and only when they are the caller's own and
// closed to group and others (elements/private_dir.hpp).
class step_cache {
 public:
  explicit step_cache(std::filesystem::path base)
      : base_(std::move(base)), dir_(base_ / "elements" / "steps") {}

  // The stored layer for `key`, marked as used now; null when there is none.
  unique_fd find(const std::string& key) const;
  // Stores the layer `fd` holds (read from offset 0) whole or not at all
  // (temp file, then rename). Throws elements::error when it cannot.
  void store(const std::string& key, int fd, const std::string& summary) const;
  // Entries, most recently used first.
  std::vector<cache_entry> list() const;
  // Removes the entries last used before `before` (all when nullopt); returns them.
  std::vector<cache_entry> prune(std::optional<std::int64_t> before) const;

  // base/elements/steps, for messages.
  const std::filesystem::path& dir() const noexcept { return dir_; }

 private:
  // The checked folder; empty when it does not exist and not `create`.
  unique_fd open(bool create) const;

  std::filesystem::path base_, dir_;
};

}  // namespace elements::builder
