#include "runtime/image/squash_check.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>

#include "elements/error.hpp"

namespace elements::runtime {
namespace {

static_assert(std::endian::native == std::endian::little,
              "squashfs is little-endian; the reader copies its structures as they are");

constexpr std::size_t metadata_size = SQUASHFS_METADATA_SIZE;

// Bytes of the index of a table of `count` entries of `each` bytes: one
// 8-byte location per metadata block.
std::uint64_t index_bytes(std::uint64_t count, std::uint64_t each) {
  return (count * each + metadata_size - 1) / metadata_size * 8;
}

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%#llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::string superblock_problem(const squashfs_super_block& sb, std::uint64_t available) {
  if (sb.s_magic != SQUASHFS_MAGIC) return "is not a squashfs image";
  if (sb.s_major != 4 || sb.s_minor != 0)
    return "is squashfs " + std::to_string(sb.s_major) + "." + std::to_string(sb.s_minor) +
           ", which this runtime cannot read";
  if (!std::has_single_bit(sb.block_size) || sb.block_size < 4096 || sb.block_size > (1u << 20))
    return "has a block size of " + std::to_string(sb.block_size) +
           " bytes, not a power of two from 4 KiB to 1 MiB";
  if (sb.block_log >= 32 || (1u << sb.block_log) != sb.block_size)
    return "has a block size of " + std::to_string(sb.block_size) + " bytes but a block_log of " +
           std::to_string(sb.block_log);
  if (sb.compression < ZLIB_COMPRESSION || sb.compression > ZSTD_COMPRESSION)
    return "is compressed with an unknown method (" + std::to_string(sb.compression) + ")";
  if (sb.inodes == 0) return "has no inodes";
  if (sb.no_ids == 0) return "has no owner ids";
  if (sb.bytes_used < squash_superblock_size || sb.bytes_used > available)
    return "says it is " + std::to_string(sb.bytes_used) + " bytes long, but the file holds " +
           std::to_string(available) + " from its start";
  // squashfs writes: superblock, data, inodes, directories, then the
  // fragment, export, id and xattr tables (each one's metadata blocks
  // before its index, which the superblock points to).
  const std::uint64_t used = sb.bytes_used;
  if (sb.inode_table_start < squash_superblock_size ||
      sb.inode_table_start >= sb.directory_table_start || sb.directory_table_start >= used)
    return "has its inode table at " + hex(sb.inode_table_start) + " and its directory table at " +
           hex(sb.directory_table_start) + ", not in order inside its " + std::to_string(used) +
           " bytes";
  const struct {
    const char* name;
    std::uint64_t start, index;
    bool optional;
  } tables[] = {{"fragment", sb.fragment_table_start, index_bytes(sb.fragments, 16), true},
                {"export", sb.lookup_table_start, index_bytes(sb.inodes, 8), true},
                {"id", sb.id_table_start, index_bytes(sb.no_ids, 4), false},
                {"xattr id", sb.xattr_id_table_start, sizeof(squashfs_xattr_id_table), true}};
  for (const auto& [name, start, index, optional] : tables) {
    if (optional && start == squash_absent) continue;
    if (start < sb.directory_table_start || start >= used || index > used - start)
      return "has its " + std::string(name) + " table at " + hex(start) + ", outside its tables (" +
             hex(sb.directory_table_start) + " to " + hex(used) + ")";
  }
  const std::uint64_t root_block = sb.root_inode >> 16, root_offset = sb.root_inode & 0xffff;
  if (root_block >= sb.directory_table_start - sb.inode_table_start || root_offset >= metadata_size)
    return "has its root inode at " + hex(sb.root_inode) + ", outside its inode table";
  return {};
}

void check_superblock(int fd, const std::string& path, std::uint64_t offset) {
  const std::string where = path + ": the payload at offset " + std::to_string(offset);
  const std::string hint =
      " (hint: the file is damaged or truncated, or was not made by elements-pack; download or "
      "build it again)";
  struct stat st;
  check(::fstat(fd, &st), "read", path);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const std::uint64_t available = size > offset ? size - offset : 0;
  squashfs_super_block sb{};
  if (available < squash_superblock_size ||
      ::pread(fd, &sb, sizeof sb, static_cast<off_t>(offset)) != static_cast<ssize_t>(sizeof sb))
    throw error(where + " is not a squashfs image: the file ends " + std::to_string(available) +
                " bytes after it, within the superblock" + hint);
  if (auto problem = superblock_problem(sb, available); !problem.empty())
    throw error(where + " " + problem + hint);
  if (sb.xattr_id_table_start == squash_absent) return;
  // Where the xattr id table says its entries and its metadata are.
  squashfs_xattr_id_table x{};
  if (::pread(fd, &x, sizeof x, static_cast<off_t>(offset + sb.xattr_id_table_start)) !=
      static_cast<ssize_t>(sizeof x))
    throw_errno("read", path);
  if (x.xattr_table_start < sb.directory_table_start ||
      x.xattr_table_start >= sb.xattr_id_table_start ||
      index_bytes(x.xattr_ids, 16) > sb.bytes_used - sb.xattr_id_table_start - sizeof x)
    throw error(where + " has an xattr table (at " + hex(x.xattr_table_start) + ", " +
                std::to_string(x.xattr_ids) + " entries) outside its tables" + hint);
}

}  // namespace elements::runtime
