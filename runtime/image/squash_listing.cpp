// squash_reader's listings, lookups and xattrs: each entry's name, type and
// inode place checked against its header and its block (squash_check.hpp).
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "runtime/image/squash_check.hpp"

namespace elements::runtime {
namespace {

constexpr std::size_t metadata_size = SQUASHFS_METADATA_SIZE;
constexpr std::size_t max_xattr_value = 65536;  // XATTR_SIZE_MAX
constexpr std::uint32_t max_xattr_count = 65536;

// Whether a metadata block holds a name: 1..256 bytes, no '/' or NUL, not "." or "..".
bool plain_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
}

}  // namespace

sqfs_err squash_reader::open_dir(const sqfs_inode& dir, std::uint64_t offset, squash_dir& d) {
  if (!S_ISDIR(dir.base.mode) || dir.xtra.dir.dir_size < 3) return SQFS_ERR;
  d = {};
  d.cur = {static_cast<sqfs_off_t>(fs_->sb.directory_table_start + dir.xtra.dir.start_block),
           dir.xtra.dir.offset};
  // The size counts the "." and ".." squashfs does not store.
  d.total = d.remain = dir.xtra.dir.dir_size - 3;
  d.from = offset;
  return SQFS_OK;
}

// A listing is a run of headers (up to 256 entries, the inode block they
// share), each followed by its entries (inode offset, type, name). The
// library copies a name of any stated length into a 257-byte buffer.
bool squash_reader::next(squash_dir& d, squash_dirent& e, sqfs_err& err) {
  const std::uint64_t end = directory_end();
  const std::uint64_t inode_blocks = fs_->sb.directory_table_start - fs_->sb.inode_table_start;
  auto fail = [&] {
    err = SQFS_ERR;
    return false;
  };
  err = SQFS_OK;
  for (;;) {
    const std::uint64_t at = d.total - d.remain;
    while (d.count == 0) {
      if (d.remain == 0) return false;
      squashfs_dir_header h;
      if (d.remain < sizeof h || md_read(d.cur, &h, sizeof h, end) != SQFS_OK) return fail();
      d.remain -= sizeof h;
      if (h.count >= 256 || h.start_block >= inode_blocks) return fail();
      d.count = h.count + 1;
      d.start_block = h.start_block;
      d.inode_number = h.inode_number;
    }
    squashfs_dir_entry x;
    if (d.remain < sizeof x || md_read(d.cur, &x, sizeof x, end) != SQFS_OK) return fail();
    d.remain -= sizeof x;
    --d.count;
    const std::size_t len = std::size_t{x.size} + 1;
    if (len > SQUASHFS_NAME_LEN || len > d.remain) return fail();
    e.name.assign(len, '\0');
    if (md_read(d.cur, e.name.data(), len, end) != SQFS_OK) return fail();
    d.remain -= len;
    if (!plain_name(e.name) || x.type < SQUASHFS_DIR_TYPE || x.type > SQUASHFS_LSOCKET_TYPE ||
        x.offset >= metadata_size)
      return fail();
    e.inode = (std::uint64_t{d.start_block} << 16) | x.offset;
    e.inode_number =
        d.inode_number + static_cast<std::uint32_t>(static_cast<std::int16_t>(x.inode_number));
    e.type = x.type;
    e.offset = at;
    e.next_offset = d.total - d.remain;
    if (e.offset >= d.from) return true;
  }
}

sqfs_err squash_reader::lookup(const sqfs_inode& dir, std::string_view name, squash_dirent& e,
                               bool& found) {
  found = false;
  squash_dir d;
  if (open_dir(dir, 0, d) != SQFS_OK) return SQFS_ERR;
  sqfs_err err = SQFS_OK;
  while (next(d, e, err))
    if (e.name == name) {
      found = true;
      return SQFS_OK;
    }
  return err;
}

sqfs_err squash_reader::lookup_path(sqfs_inode& in, std::string_view path, bool& found) {
  found = true;
  squash_dirent e;
  while (!path.empty()) {
    const auto slash = path.find('/');
    const std::string_view name = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (name.empty()) continue;
    if (!S_ISDIR(in.base.mode)) {
      found = false;
      return SQFS_OK;
    }
    if (lookup(in, name, e, found) != SQFS_OK) return SQFS_ERR;
    if (!found) return SQFS_OK;
    if (inode(e.inode, in) != SQFS_OK) return SQFS_ERR;
  }
  return SQFS_OK;
}

bool squash_reader::has_xattrs() const {
  return fs_->sb.xattr_id_table_start != squash_absent && fs_->xattr_info.xattr_ids > 0;
}

// An inode's xattrs: an entry of the xattr id table (where its pairs start,
// how many) and then, in the xattr metadata, each pair: prefix and name,
// value (or, out of line, a reference to a value stored elsewhere).
sqfs_err squash_reader::xattrs(const sqfs_inode& in, std::vector<squash_xattr>& out) {
  out.clear();
  if (in.xattr == SQUASHFS_INVALID_XATTR) return SQFS_OK;
  const auto& sb = fs_->sb;
  const auto& info = fs_->xattr_info;
  if (!has_xattrs()) return SQFS_ERR;
  squashfs_xattr_id id{};
  if (table_get(fs_->xattr_table, info.xattr_ids, sb.xattr_id_table_start, in.xattr, &id) !=
          SQFS_OK ||
      id.count > max_xattr_count)
    return SQFS_ERR;
  const std::uint64_t end = sb.xattr_id_table_start;
  auto at = [&](std::uint64_t ref) {
    return sqfs_md_cursor{static_cast<sqfs_off_t>(info.xattr_table_start + (ref >> 16)),
                          static_cast<std::size_t>(ref & 0xffff)};
  };
  static constexpr std::string_view prefixes[] = {"user.", "trusted.", "security."};
  sqfs_md_cursor cur = at(id.xattr);
  for (std::uint32_t i = 0; i < id.count; ++i) {
    squashfs_xattr_entry x;
    if (md_read(cur, &x, sizeof x, end) != SQFS_OK) return SQFS_ERR;
    const unsigned prefix = x.type & SQUASHFS_XATTR_PREFIX_MASK;
    if (prefix >= std::size(prefixes) || (x.type & ~0x1ffu) || x.size == 0 || x.size > 255)
      return SQFS_ERR;
    squash_xattr& a = out.emplace_back();
    a.name.assign(prefixes[prefix]);
    a.name.resize(a.name.size() + x.size);
    if (md_read(cur, a.name.data() + prefixes[prefix].size(), x.size, end) != SQFS_OK ||
        a.name.find('\0') != std::string::npos)
      return SQFS_ERR;
    std::uint32_t vsize = 0;
    if (md_read(cur, &vsize, sizeof vsize, end) != SQFS_OK) return SQFS_ERR;
    sqfs_md_cursor value = cur;
    if (x.type & SQUASHFS_XATTR_VALUE_OOL) {
      std::uint64_t ref = 0;
      if (vsize != sizeof ref || md_read(cur, &ref, sizeof ref, end) != SQFS_OK) return SQFS_ERR;
      value = at(ref);
      if (md_read(value, &vsize, sizeof vsize, end) != SQFS_OK) return SQFS_ERR;
    }
    if (vsize > max_xattr_value) return SQFS_ERR;
    a.value.assign(vsize, '\0');
    if (md_read(value, a.value.data(), vsize, end) != SQFS_OK) return SQFS_ERR;
    if (!(x.type & SQUASHFS_XATTR_VALUE_OOL)) cur = value;
  }
  return SQFS_OK;
}

}  // namespace elements::runtime
