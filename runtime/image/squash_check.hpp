// The validation layer between the runtime and libsquashfuse: the
// superblock checked before the library sees it, and bounded readers in
// place of the library's own. Its readers trust the sizes, offsets and
// counts they find in the image (a directory name's length is copied into a
// 257-byte buffer as it stands, a metadata offset past its block is read
// anyway), so a crafted image crashes them. These read through the
// library's block caches and decompressors only, and check every offset,
// size and count against the block or table it points into.
// Internal to runtime/: the library's config.h leaks macros (VERSION,
// PACKAGE, ...) that must not reach other code.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

extern "C" {
#include <squashfuse.h>
}
#undef PACKAGE
#undef PACKAGE_BUGREPORT
#undef PACKAGE_NAME
#undef PACKAGE_STRING
#undef PACKAGE_TARNAME
#undef PACKAGE_URL
#undef PACKAGE_VERSION
#undef VERSION

#include "runtime/mount/squash_mount.hpp"

namespace elements::runtime {

// Where an optional table would start: the image does not have it.
inline constexpr std::uint64_t squash_absent = ~std::uint64_t{0};
inline constexpr std::uint64_t squash_superblock_size = sizeof(squashfs_super_block);

// What is wrong with a squashfs superblock, or "" when it can be used: the
// magic, version 4.0, a block size that is a power of two from 4 KiB to
// 1 MiB and matches block_log, a known compression, inodes and ids, and
// every table inside `bytes_used`, in the order squashfs writes them, with
// `bytes_used` inside the `available` bytes of the file from the image's
// start. `sb` is as read from the file (little-endian).
std::string superblock_problem(const squashfs_super_block& sb, std::uint64_t available);

// Reads the superblock of the image at `offset` of `fd` (and the xattr id
// table's header it points to) and throws elements::error (status 125)
// naming `path` and what is wrong. Called before anything else reads the
// payload: libsquashfuse, and the kernel's squashfs driver for a root caller.
void check_superblock(int fd, const std::string& path, std::uint64_t offset);

// A directory entry, as squash_reader reads it.
struct squash_dirent {
  sqfs_inode_id inode = 0;
  std::uint32_t inode_number = 0;
  int type = 0;                               // SQUASHFS_*_TYPE, the basic ones (1..7)
  std::string name;                           // 1..256 bytes, no '/' or NUL, never "." or ".."
  std::uint64_t offset = 0, next_offset = 0;  // positions in the listing, for readdir
};

struct squash_xattr {
  std::string name;  // with its prefix: "user.", "trusted.", "security."
  std::string value;
};

// Where one pass over a directory's listing is.
struct squash_dir {
  sqfs_md_cursor cur{};
  std::uint64_t total = 0, remain = 0;  // bytes of the listing, and those not yet read
  std::uint32_t count = 0;              // entries left under the current header
  std::uint32_t start_block = 0, inode_number = 0;
  std::uint64_t from = 0;  // entries before this position are skipped
};

// Bounded reads of an image libsquashfuse has opened (sqfs_init after
// check_superblock). Every function returns SQFS_ERR for a damaged image,
// never reads or writes outside its buffers, and ends: each step moves
// forward through a table of the image, which is finite. Not thread-safe
// (the library's caches are not).
class squash_reader {
 public:
  explicit squash_reader(sqfs* fs) : fs_(fs) {}

  sqfs_err inode(sqfs_inode_id id, sqfs_inode& out);
  sqfs_err id(std::uint16_t index, sqfs_id_t& out);
  // Up to `size` bytes of a regular file from `offset`; `size` becomes how
  // many (0 only at or past the end).
  sqfs_err read(const sqfs_inode& file, std::uint64_t offset, void* buf, std::size_t& size);
  sqfs_err readlink(const sqfs_inode& link, std::string& target);

  // Entries from the first whose position is at least `offset` on.
  sqfs_err open_dir(const sqfs_inode& dir, std::uint64_t offset, squash_dir& d);
  // False at the end (err SQFS_OK) or on damage (err SQFS_ERR).
  bool next(squash_dir& d, squash_dirent& e, sqfs_err& err);
  sqfs_err lookup(const sqfs_inode& dir, std::string_view name, squash_dirent& e, bool& found);
  // `in` from the root; a relative path of names separated by '/'.
  sqfs_err lookup_path(sqfs_inode& in, std::string_view path, bool& found);

  bool has_xattrs() const;
  sqfs_err xattrs(const sqfs_inode& in, std::vector<squash_xattr>& out);

 private:
  sqfs_err md_read(sqfs_md_cursor& cur, void* buf, std::size_t size, std::uint64_t end);
  sqfs_err table_get(const sqfs_table& table, std::uint64_t count, std::uint64_t table_start,
                     std::uint64_t index, void* out);
  sqfs_err fragment(const sqfs_inode& file, sqfs_block*& block, std::size_t& tail);
  std::uint64_t directory_end() const;
  // The typed rest of an inode whose header `cur` is at; `out.base` is read.
  sqfs_err file_inode(int type, sqfs_md_cursor& cur, std::uint64_t end, sqfs_inode& out);
  sqfs_err dir_inode(int type, sqfs_md_cursor& cur, std::uint64_t end, sqfs_inode& out);
  sqfs_err symlink_inode(int type, sqfs_md_cursor& cur, std::uint64_t end, sqfs_inode& out);
  sqfs_err special_inode(int type, sqfs_md_cursor& cur, std::uint64_t end, sqfs_inode& out);
  sqfs_err check_inode(const sqfs_inode& in) const;

  sqfs* fs_;
  // Where the last read of a file's block list stopped, so that sequential
  // reads do not walk the list from its start each time.
  struct {
    std::uint64_t start = ~std::uint64_t{0};  // the file's first data block
    sqfs_md_cursor list{};                    // its block list
    std::uint64_t block = 0;                  // index of the next entry
    sqfs_md_cursor cur{};                     // where that entry is
    std::uint64_t pos = 0;                    // where its data is
  } walk_;
};

}  // namespace elements::runtime
