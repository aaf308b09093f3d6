// An owner for a squashfs image opened at an offset inside the runtime's
// file, read through the bounded readers of squash_check.hpp. Internal to
// runtime/.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/image/squash_check.hpp"
#include "runtime/mount/squash_mount.hpp"

namespace elements::runtime {

// Checks the superblock of the image at `offset` of `fd`, then opens it into
// `fs` (which must stay where it is: the library keeps pointers into it).
// Throws elements::error naming `path`.
void open_squash(sqfs* fs, int fd, const std::string& path, std::uint64_t offset);

// Closes what open_squash opened.
void close_squash(sqfs* fs);

// How many blocks (data, fragment, metadata) this process has decompressed,
// for --elements-debug.
std::uint64_t blocks_decompressed();

// An image opened for one pass of reading; not thread-safe (the library's
// caches are not).
class squash_image {
 public:
  explicit squash_image(const payload_file& file) : path_(file.path) {
    open_squash(&fs_, file.fd.get(), file.path, file.offset);
  }
  squash_image(const squash_image&) = delete;
  squash_image& operator=(const squash_image&) = delete;
  ~squash_image() { close_squash(&fs_); }

  sqfs* fs() noexcept { return &fs_; }
  squash_reader& reader() noexcept { return reader_; }
  const std::string& path() const noexcept { return path_; }

  sqfs_inode root();
  sqfs_inode inode(sqfs_inode_id id);
  // Reads up to `size` bytes at `offset` of a regular file; returns how many.
  // `what` names the file in the message when it cannot be read.
  std::size_t read(const sqfs_inode& inode, std::uint64_t offset, void* buf, std::size_t size,
                   std::string_view what = "a file's data");
  std::string readlink(const sqfs_inode& inode);

  // The payload is unreadable at `what`: a damaged or truncated file.
  [[noreturn]] void damaged(std::string_view what) const;

 private:
  sqfs fs_{};
  squash_reader reader_{&fs_};
  std::string path_;
};

}  // namespace elements::runtime
