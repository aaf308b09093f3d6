// squash_reader: libsquashfuse's readers again, with every offset, size and
// count checked against the block or table it points into (squash_check.hpp).
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "runtime/image/squash_check.hpp"

namespace elements::runtime {
namespace {

constexpr std::size_t metadata_size = SQUASHFS_METADATA_SIZE;
constexpr std::uint32_t uncompressed_bit = SQUASHFS_COMPRESSED_BIT_BLOCK;
constexpr std::size_t max_symlink = 4095;  // PATH_MAX less its NUL

}  // namespace

std::uint64_t squash_reader::directory_end() const {
  const auto& sb = fs_->sb;
  std::uint64_t end = sb.bytes_used;
  for (std::uint64_t t :
       {sb.fragment_table_start, sb.lookup_table_start, sb.id_table_start, sb.xattr_id_table_start})
    if (t != squash_absent) end = std::min(end, t);
  return end;
}

// The library's sqfs_md_read reads at the cursor's offset whatever the
// block's size, so an offset past it reads (and copies) outside the block.
// Here every block read must lie in [superblock end, end) and be 1..8192
// bytes, and the offset inside it. (A position of 0 would also find an
// empty slot of the library's cache, which keys blocks by position.)
sqfs_err squash_reader::md_read(sqfs_md_cursor& cur, void* buf, std::size_t size,
                                std::uint64_t end) {
  auto* out = static_cast<char*>(buf);
  while (size > 0) {
    if (cur.block < static_cast<sqfs_off_t>(squash_superblock_size) ||
        static_cast<std::uint64_t>(cur.block) >= end)
      return SQFS_ERR;
    sqfs_off_t next = cur.block;
    sqfs_block* block = nullptr;
    if (sqfs_md_cache(fs_, &next, &block) != SQFS_OK || !block) return SQFS_ERR;
    if (block->size == 0 || block->size > metadata_size || cur.offset >= block->size)
      return SQFS_ERR;
    const std::size_t take = std::min(size, block->size - cur.offset);
    if (out) {
      std::memcpy(out, static_cast<const char*>(block->data) + cur.offset, take);
      out += take;
    }
    size -= take;
    cur.offset += take;
    if (cur.offset == block->size) cur = {next, 0};
  }
  return SQFS_OK;
}

// The library's sqfs_table_get takes any index: past the table it reads
// outside the list of block locations and outside the block.
sqfs_err squash_reader::table_get(const sqfs_table& table, std::uint64_t count,
                                  std::uint64_t table_start, std::uint64_t index, void* out) {
  if (index >= count || !table.blocks || table.each == 0) return SQFS_ERR;
  const std::uint64_t at = index * table.each;
  sqfs_md_cursor cur{static_cast<sqfs_off_t>(table.blocks[at / metadata_size]),
                     static_cast<std::size_t>(at % metadata_size)};
  // A table's metadata blocks come before its index.
  return md_read(cur, out, table.each, table_start);
}

namespace {

// A damaged count may not overflow the int the library keeps it in.
int clamped_nlink(std::uint32_t nlink) {
  return static_cast<int>(std::min<std::uint32_t>(nlink, 1u << 30));
}

}  // namespace

sqfs_err squash_reader::file_inode(int type, sqfs_md_cursor& cur, std::uint64_t end,
                                   sqfs_inode& out) {
  auto& x = out.xtra;
  if (type == SQUASHFS_REG_TYPE) {
    squashfs_reg_inode r;
    if (md_read(cur, &r, sizeof r, end) != SQFS_OK) return SQFS_ERR;
    out.nlink = 1;
    x.reg = {r.start_block, r.file_size, r.fragment, r.offset};
    return SQFS_OK;
  }
  squashfs_lreg_inode r;
  if (md_read(cur, &r, sizeof r, end) != SQFS_OK) return SQFS_ERR;
  out.nlink = clamped_nlink(r.nlink);
  x.reg = {r.start_block, r.file_size, r.fragment, r.offset};
  out.xattr = r.xattr;
  return SQFS_OK;
}

sqfs_err squash_reader::dir_inode(int type, sqfs_md_cursor& cur, std::uint64_t end,
                                  sqfs_inode& out) {
  auto& x = out.xtra;
  if (type == SQUASHFS_DIR_TYPE) {
    squashfs_dir_inode d;
    if (md_read(cur, &d, sizeof d, end) != SQFS_OK) return SQFS_ERR;
    out.nlink = clamped_nlink(d.nlink);
    x.dir = {d.start_block, d.offset, d.file_size, 0, d.parent_inode};
    return SQFS_OK;
  }
  squashfs_ldir_inode d;
  if (md_read(cur, &d, sizeof d, end) != SQFS_OK) return SQFS_ERR;
  out.nlink = clamped_nlink(d.nlink);
  x.dir = {d.start_block, d.offset, d.file_size, d.i_count, d.parent_inode};
  out.xattr = d.xattr;
  return SQFS_OK;
}

sqfs_err squash_reader::symlink_inode(int type, sqfs_md_cursor& cur, std::uint64_t end,
                                      sqfs_inode& out) {
  squashfs_symlink_inode s;
  if (md_read(cur, &s, sizeof s, end) != SQFS_OK || s.symlink_size == 0 ||
      s.symlink_size > max_symlink)
    return SQFS_ERR;
  out.nlink = clamped_nlink(s.nlink);
  out.xtra.symlink_size = s.symlink_size;
  if (type == SQUASHFS_LSYMLINK_TYPE) {
    // The extended inode's xattr index follows the target.
    sqfs_md_cursor after = cur;
    if (md_read(after, nullptr, s.symlink_size, end) != SQFS_OK ||
        md_read(after, &out.xattr, sizeof out.xattr, end) != SQFS_OK)
      return SQFS_ERR;
  }
  return SQFS_OK;
}

// Devices, FIFOs and sockets: the basic inodes are the start of the
// extended ones.
sqfs_err squash_reader::special_inode(int type, sqfs_md_cursor& cur, std::uint64_t end,
                                      sqfs_inode& out) {
  const bool device = type == SQUASHFS_BLKDEV_TYPE || type == SQUASHFS_CHRDEV_TYPE ||
                      type == SQUASHFS_LBLKDEV_TYPE || type == SQUASHFS_LCHRDEV_TYPE;
  if (device) {
    squashfs_ldev_inode d{};
    const bool extended = type >= SQUASHFS_LBLKDEV_TYPE;
    if (md_read(cur, &d, extended ? sizeof d : sizeof(squashfs_dev_inode), end) != SQFS_OK)
      return SQFS_ERR;
    out.nlink = clamped_nlink(d.nlink);
    out.xtra.dev.major = static_cast<int>((d.rdev >> 8) & 0xfff);
    out.xtra.dev.minor = static_cast<int>((d.rdev & 0xff) | ((d.rdev >> 12) & 0xfff00));
    if (extended) out.xattr = d.xattr;
    return SQFS_OK;
  }
  squashfs_lipc_inode p{};
  const bool extended = type >= SQUASHFS_LFIFO_TYPE;
  if (md_read(cur, &p, extended ? sizeof p : sizeof(squashfs_ipc_inode), end) != SQFS_OK)
    return SQFS_ERR;
  out.nlink = clamped_nlink(p.nlink);
  if (extended) out.xattr = p.xattr;
  return SQFS_OK;
}

// What later reads index with the inode's fields must lie inside the image.
sqfs_err squash_reader::check_inode(const sqfs_inode& in) const {
  const auto& sb = fs_->sb;
  if (in.xattr != SQUASHFS_INVALID_XATTR &&
      (!has_xattrs() || in.xattr >= fs_->xattr_info.xattr_ids))
    return SQFS_ERR;
  if (S_ISREG(in.base.mode)) {
    const auto& r = in.xtra.reg;
    if (r.start_block > sb.inode_table_start) return SQFS_ERR;
    if (r.frag_idx != SQUASHFS_INVALID_FRAG &&
        (r.frag_idx >= sb.fragments || r.frag_off >= sb.block_size))
      return SQFS_ERR;
  }
  if (S_ISDIR(in.base.mode)) {
    const auto& d = in.xtra.dir;
    if (d.dir_size < 3 || d.offset >= metadata_size) return SQFS_ERR;
    if (d.dir_size > 3 && d.start_block >= directory_end() - sb.directory_table_start)
      return SQFS_ERR;
  }
  return SQFS_OK;
}

sqfs_err squash_reader::inode(sqfs_inode_id id, sqfs_inode& out) {
  const auto& sb = fs_->sb;
  out = {};
  out.xattr = SQUASHFS_INVALID_XATTR;
  if ((id & 0xffff) >= metadata_size) return SQFS_ERR;
  const std::uint64_t end = sb.directory_table_start;
  const sqfs_md_cursor start{static_cast<sqfs_off_t>(sb.inode_table_start + (id >> 16)),
                             static_cast<std::size_t>(id & 0xffff)};
  sqfs_md_cursor cur = start;
  if (md_read(cur, &out.base, sizeof out.base, end) != SQFS_OK) return SQFS_ERR;
  const int type = out.base.inode_type;
  if (type < SQUASHFS_DIR_TYPE || type > SQUASHFS_LSOCKET_TYPE) return SQFS_ERR;
  // Only the permission bits come from the mode field; the type says the rest.
  out.base.mode = static_cast<std::uint16_t>((out.base.mode & 07777) | sqfs_mode(type));
  // Each typed inode starts with the header again.
  cur = start;
  sqfs_err err = SQFS_ERR;
  switch (type) {
    case SQUASHFS_REG_TYPE:
    case SQUASHFS_LREG_TYPE:
      err = file_inode(type, cur, end, out);
      break;
    case SQUASHFS_DIR_TYPE:
    case SQUASHFS_LDIR_TYPE:
      err = dir_inode(type, cur, end, out);
      break;
    case SQUASHFS_SYMLINK_TYPE:
    case SQUASHFS_LSYMLINK_TYPE:
      err = symlink_inode(type, cur, end, out);
      break;
    default:  // devices, FIFOs and sockets, basic and extended
      err = special_inode(type, cur, end, out);
      break;
  }
  if (err != SQFS_OK) return SQFS_ERR;
  out.next = cur;
  return check_inode(out);
}

sqfs_err squash_reader::id(std::uint16_t index, sqfs_id_t& out) {
  std::uint32_t raw = 0;
  if (table_get(fs_->id_table, fs_->sb.no_ids, fs_->sb.id_table_start, index, &raw) != SQFS_OK)
    return SQFS_ERR;
  out = raw;
  return SQFS_OK;
}

// The fragment that holds the tail of `file`, and the tail's size. The
// library takes the fragment's index, size and offset as they are.
sqfs_err squash_reader::fragment(const sqfs_inode& file, sqfs_block*& block, std::size_t& tail) {
  const auto& sb = fs_->sb;
  const auto& r = file.xtra.reg;
  squashfs_fragment_entry e{};
  if (table_get(fs_->frag_table, sb.fragments, sb.fragment_table_start, r.frag_idx, &e) != SQFS_OK)
    return SQFS_ERR;
  const std::uint32_t stored = e.size & ~uncompressed_bit;
  if (stored == 0 || stored > sb.block_size || e.start_block < squash_superblock_size ||
      e.start_block > sb.inode_table_start || stored > sb.inode_table_start - e.start_block)
    return SQFS_ERR;
  block = nullptr;
  if (sqfs_data_cache(fs_, &fs_->frag_cache, static_cast<sqfs_off_t>(e.start_block), e.size,
                      &block) != SQFS_OK ||
      !block)
    return SQFS_ERR;
  tail = static_cast<std::size_t>(r.file_size % sb.block_size);
  if (r.frag_off > block->size || tail > block->size - r.frag_off) return SQFS_ERR;
  return SQFS_OK;
}

// The library's sqfs_read_range copies a whole block's worth from a block
// that may be shorter (a block size that does not match the superblock's,
// a stored size past the image), and walks block lists unbounded. Here each
// block must be stored inside the data, hold exactly the bytes its place
// in the file needs, and the list must stay inside the inode table.
sqfs_err squash_reader::read(const sqfs_inode& file, std::uint64_t offset, void* buf,
                             std::size_t& size) {
  if (!S_ISREG(file.base.mode)) return SQFS_ERR;
  const auto& sb = fs_->sb;
  const auto& r = file.xtra.reg;
  const std::uint64_t bs = sb.block_size, end = sb.directory_table_start;
  if (offset >= r.file_size) {
    size = 0;
    return SQFS_OK;
  }
  size = static_cast<std::size_t>(std::min<std::uint64_t>(size, r.file_size - offset));
  const bool has_fragment = r.frag_idx != SQUASHFS_INVALID_FRAG;
  const std::uint64_t blocks = has_fragment ? r.file_size / bs : (r.file_size + bs - 1) / bs;
  std::uint64_t k = offset / bs;
  std::size_t within = static_cast<std::size_t>(offset % bs), done = 0;
  auto* out = static_cast<char*>(buf);
  auto fail = [&] {
    walk_.start = ~std::uint64_t{0};
    return SQFS_ERR;
  };
  auto advance = [&](std::uint32_t entry) {
    const std::uint32_t stored = entry & ~uncompressed_bit;
    if (stored > bs || walk_.pos > sb.inode_table_start ||
        stored > sb.inode_table_start - walk_.pos)
      return false;
    walk_.pos += stored;
    ++walk_.block;
    return true;
  };
  if (k < blocks) {
    // Continue where the last read of this list stopped, or start it again.
    if (walk_.start != r.start_block || walk_.list.block != file.next.block ||
        walk_.list.offset != file.next.offset || walk_.block > k) {
      walk_.start = r.start_block;
      walk_.list = walk_.cur = file.next;
      walk_.block = 0;
      walk_.pos = r.start_block;
    }
    for (std::uint32_t batch[1024]; walk_.block < k;) {
      const auto n =
          static_cast<std::size_t>(std::min<std::uint64_t>(std::size(batch), k - walk_.block));
      if (md_read(walk_.cur, batch, n * sizeof batch[0], end) != SQFS_OK) return fail();
      for (std::size_t i = 0; i < n; ++i)
        if (!advance(batch[i])) return fail();
    }
  }
  for (; done < size && k < blocks; ++k) {
    std::uint32_t entry = 0;
    const std::uint64_t pos = walk_.pos;
    if (md_read(walk_.cur, &entry, sizeof entry, end) != SQFS_OK || !advance(entry)) return fail();
    const auto expected = static_cast<std::size_t>(std::min(bs, r.file_size - k * bs));
    const std::size_t take = std::min(size - done, expected - within);
    if ((entry & ~uncompressed_bit) == 0) {  // a hole
      std::memset(out + done, 0, take);
    } else {
      sqfs_block* block = nullptr;
      if (pos < squash_superblock_size ||
          sqfs_data_cache(fs_, &fs_->data_cache, static_cast<sqfs_off_t>(pos), entry, &block) !=
              SQFS_OK ||
          !block || block->size != expected)
        return fail();
      std::memcpy(out + done, static_cast<const char*>(block->data) + within, take);
    }
    done += take;
    within = 0;
  }
  if (done < size) {
    sqfs_block* block = nullptr;
    std::size_t tail = 0;
    if (!has_fragment || fragment(file, block, tail) != SQFS_OK || within > tail) return fail();
    const std::size_t take = std::min(size - done, tail - within);
    std::memcpy(out + done, static_cast<const char*>(block->data) + r.frag_off + within, take);
    done += take;
  }
  size = done;
  return SQFS_OK;
}

sqfs_err squash_reader::readlink(const sqfs_inode& link, std::string& target) {
  if (!S_ISLNK(link.base.mode)) return SQFS_ERR;
  const std::size_t size = link.xtra.symlink_size;
  if (size == 0 || size > max_symlink) return SQFS_ERR;
  target.assign(size, '\0');
  sqfs_md_cursor cur = link.next;
  if (md_read(cur, target.data(), size, fs_->sb.directory_table_start) != SQFS_OK ||
      target.find('\0') != std::string::npos)
    return SQFS_ERR;
  return SQFS_OK;
}

}  // namespace elements::runtime
