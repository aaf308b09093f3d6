// The filesystem tree that sources and build steps produce and the squashfs
// writer stores: directories own their entries by name, and a node shared by
// several entries is one inode (a hard link).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace elements::builder {

// The bytes of a regular file, read only when the image is written so that a
// large rootfs is never held in memory.
class file_content {
 public:
  virtual ~file_content() = default;
  using sink = std::function<void(std::span<const unsigned char>)>;
  // Calls `out` with the bytes in order; throws elements::error when they cannot be read.
  virtual void read(const sink& out) const = 0;
  // Where the bytes come from, for messages.
  virtual std::string describe() const = 0;
  // How many bytes read() gives, where that is cheap to know; 0 otherwise.
  // For progress only: read() is the truth.
  virtual std::uint64_t size_hint() const { return 0; }
};

// `size`, when the caller has just seen it, saves a stat for progress.
std::shared_ptr<const file_content> host_file(std::filesystem::path path,
                                              std::optional<std::uint64_t> size = std::nullopt);
std::shared_ptr<const file_content> memory_file(std::vector<unsigned char> bytes, std::string what);
std::shared_ptr<const file_content> memory_file(std::string_view text, std::string what);

struct node;
using node_ptr = std::shared_ptr<node>;

struct node {
  mode_t mode = 0;  // type and permission bits, as in st_mode
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::int64_t mtime = 0;
  std::map<std::string, std::string> xattrs;    // full names ("user.x", "security.capability")
  std::shared_ptr<const file_content> content;  // regular files
  std::string link_target;                      // symlinks
  dev_t rdev = 0;                               // devices
  std::map<std::string, node_ptr> entries;      // directories, in byte order as squashfs wants

  bool is_dir() const noexcept { return S_ISDIR(mode); }
};

// Owner and time of the entries the builder makes itself.
struct made_attrs {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::int64_t mtime = 0;
};

node_ptr make_dir(mode_t permissions, const made_attrs& attrs);
node_ptr make_file(mode_t permissions, std::shared_ptr<const file_content> content,
                   const made_attrs& attrs);
node_ptr make_symlink(std::string target, const made_attrs& attrs);

// Paths inside a tree are absolute ("/etc/hosts"); intermediate symlinks are
// followed inside the tree (an absolute target restarts at the tree's root,
// ".." stops at it, as under chroot), so a path never leads outside the tree.
struct located {
  node_ptr parent;   // the directory that holds (or would hold) the entry
  std::string name;  // the last component; empty for the root itself
  node_ptr entry;    // not followed when it is a symlink; null when missing
};

// Resolves `path` like lstat(2). Returns nullopt when a parent is missing or
// not a directory.
std::optional<located> locate(const node_ptr& root, std::string_view path);

// Resolves `path` like mkdir -p on its parents: missing parents are made with
// `attrs` and mode 0755. Throws elements::error when a parent exists and is not
// a directory.
located locate_or_make_parents(const node_ptr& root, std::string_view path,
                               const made_attrs& attrs);

}  // namespace elements::builder
