#include "runtime/mount/fuse_requests.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstring>

namespace elements::runtime {
namespace {

// The image never changes while it is served, so whatever the kernel learns
// (entries, misses, attributes, data, listings, link targets) stays true.
constexpr std::uint64_t forever = 0xffffffffULL;  // seconds; the kernel clamps it
constexpr std::uint32_t max_pages = 256;          // 1 MiB per read

std::uint32_t encode_dev(unsigned major, unsigned minor) {
  return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}

}  // namespace

fuse_requests::fuse_requests(sqfs& fs, int connection, std::uint32_t root_uid,
                             std::uint32_t root_gid)
    : fs_(fs),
      reader_(&fs),
      connection_(connection),
      has_xattrs_(reader_.has_xattrs()),
      root_id_(sqfs_inode_root(&fs)),
      root_uid_(root_uid),
      root_gid_(root_gid) {}

std::string fuse_requests::counts() const {
  static constexpr struct {
    std::uint32_t opcode;
    const char* name;
  } names[] = {{FUSE_LOOKUP, "lookup"},     {FUSE_GETATTR, "getattr"},
               {FUSE_READLINK, "readlink"}, {FUSE_OPEN, "open"},
               {FUSE_READ, "read"},         {FUSE_OPENDIR, "opendir"},
               {FUSE_READDIR, "readdir"},   {FUSE_READDIRPLUS, "readdirplus"},
               {FUSE_GETXATTR, "getxattr"}, {FUSE_LISTXATTR, "listxattr"}};
  std::uint64_t total = 0;
  for (auto c : counts_) total += c;
  std::string line = std::to_string(total) + " requests";
  for (const auto& n : names)
    if (counts_[n.opcode]) line += ", " + std::to_string(counts_[n.opcode]) + " " + n.name;
  return line;
}

void fuse_requests::reply(const fuse_in_header& h, int err, const void* body, std::size_t size) {
  fuse_out_header out{};
  out.len = static_cast<std::uint32_t>(sizeof out + size);
  out.error = -err;
  out.unique = h.unique;
  iovec iov[2] = {{&out, sizeof out}, {const_cast<void*>(body), size}};
  // An error here means the request was interrupted or the connection
  // is gone; either way there is nobody left to tell.
  (void)!::writev(connection_, iov, size ? 2 : 1);
}

sqfs_inode_id fuse_requests::id_of(std::uint64_t nodeid) const {
  return nodeid == FUSE_ROOT_ID ? root_id_ : nodeid - 2;
}
std::uint64_t fuse_requests::nodeid_of(sqfs_inode_id id) const {
  return id == root_id_ ? FUSE_ROOT_ID : id + 2;
}
bool fuse_requests::get(std::uint64_t nodeid, sqfs_inode& in) {
  return reader_.inode(id_of(nodeid), in) == SQFS_OK;
}

fuse_attr fuse_requests::attr(const sqfs_inode& in) {
  fuse_attr a{};
  a.ino = in.base.inode_number;
  a.mode = in.base.mode;
  a.nlink = static_cast<std::uint32_t>(in.nlink);
  sqfs_id_t id = 0;
  a.uid = reader_.id(in.base.uid, id) == SQFS_OK && id ? id : root_uid_;
  id = 0;
  a.gid = reader_.id(in.base.guid, id) == SQFS_OK && id ? id : root_gid_;
  a.atime = a.mtime = a.ctime = in.base.mtime;
  switch (in.base.mode & S_IFMT) {
    case S_IFREG:
      a.size = in.xtra.reg.file_size;
      break;
    case S_IFDIR:
      a.size = in.xtra.dir.dir_size;
      break;
    case S_IFLNK:
      a.size = in.xtra.symlink_size;
      break;
    case S_IFBLK:
    case S_IFCHR:
      a.rdev = encode_dev(static_cast<unsigned>(in.xtra.dev.major),
                          static_cast<unsigned>(in.xtra.dev.minor));
      break;
  }
  a.blocks = (a.size + 511) / 512;
  a.blksize = fs_.sb.block_size;
  return a;
}

void fuse_requests::init(const fuse_in_header& h, const char* arg, std::size_t len) {
  fuse_init_in in{};
  std::memcpy(&in, arg, std::min(len, sizeof in));
  fuse_init_out out{};
  out.major = FUSE_KERNEL_VERSION;
  out.minor = FUSE_KERNEL_MINOR_VERSION;
  if (in.major != FUSE_KERNEL_VERSION) {  // the kernel retries with our version
    reply(h, 0, &out, 8);
    return;
  }
  out.max_readahead = in.max_readahead;
  kernel_flags_ = in.flags;
  out.flags = in.flags & (FUSE_ASYNC_READ | FUSE_MAX_PAGES | FUSE_CACHE_SYMLINKS |
                          FUSE_PARALLEL_DIROPS | FUSE_DO_READDIRPLUS);
  out.max_write = fuse_max_write;
  out.time_gran = 1;
  out.max_pages = max_pages;
  // Kernels before FUSE 7.23 expect the short reply.
  reply(h, 0, &out, in.minor < 23 ? 24 : sizeof out);
}

void fuse_requests::lookup(const fuse_in_header& h, const char* name, std::size_t len) {
  sqfs_inode dir;
  if (!len || name[len - 1] || !get(h.nodeid, dir)) return reply(h, EIO);
  if (!S_ISDIR(dir.base.mode)) return reply(h, ENOTDIR);
  squash_dirent entry;
  bool found = false;
  if (reader_.lookup(dir, std::string_view(name, len - 1), entry, found) != SQFS_OK)
    return reply(h, EIO);
  fuse_entry_out out{};
  out.entry_valid = forever;
  out.attr_valid = forever;
  // Node 0 is a miss the kernel keeps: loaders and PATH searches probe
  // many names that do not exist.
  if (found) {
    sqfs_inode child;
    if (reader_.inode(entry.inode, child) != SQFS_OK) return reply(h, EIO);
    out.nodeid = nodeid_of(entry.inode);
    out.attr = attr(child);
  }
  reply(h, out);
}

void fuse_requests::getattr(const fuse_in_header& h) {
  sqfs_inode in;
  if (!get(h.nodeid, in)) return reply(h, EIO);
  fuse_attr_out out{};
  out.attr_valid = forever;
  out.attr = attr(in);
  reply(h, out);
}

void fuse_requests::readlink(const fuse_in_header& h) {
  sqfs_inode in;
  std::string target;
  if (!get(h.nodeid, in) || reader_.readlink(in, target) != SQFS_OK) return reply(h, EIO);
  reply(h, 0, target.data(), target.size());
}

void fuse_requests::open(const fuse_in_header& h, const char* arg, std::size_t len, bool dir) {
  fuse_open_in in{};
  std::memcpy(&in, arg, std::min(len, sizeof in));
  if ((in.flags & O_ACCMODE) != O_RDONLY) return reply(h, EROFS);
  // Nothing is kept per open file, so where the kernel can do without
  // OPEN/OPENDIR (and their RELEASEs) it is told so once: it then keeps the
  // page and directory caches itself and saves four round trips a file.
  if (kernel_flags_ & (dir ? FUSE_NO_OPENDIR_SUPPORT : FUSE_NO_OPEN_SUPPORT))
    return reply(h, ENOSYS);
  fuse_open_out out{};
  out.open_flags = FOPEN_KEEP_CACHE | (dir ? FOPEN_CACHE_DIR : FOPEN_NOFLUSH);
  reply(h, out);
}

void fuse_requests::read(const fuse_in_header& h, const char* arg, std::size_t len) {
  fuse_read_in in{};
  std::memcpy(&in, arg, std::min(len, sizeof in));
  sqfs_inode file;
  if (!get(h.nodeid, file) || !S_ISREG(file.base.mode)) return reply(h, EIO);
  data_.resize(std::min<std::size_t>(in.size, max_pages * 4096));
  std::size_t n = data_.size();
  if (reader_.read(file, in.offset, data_.data(), n) != SQFS_OK) return reply(h, EIO);
  reply(h, 0, data_.data(), n);
}

// READDIRPLUS gives each entry's node and attributes with the listing, so
// a walk over the tree needs no LOOKUP per name.
void fuse_requests::readdir(const fuse_in_header& h, const char* arg, std::size_t len, bool plus) {
  fuse_read_in in{};
  std::memcpy(&in, arg, std::min(len, sizeof in));
  sqfs_inode dir;
  squash_dir d;
  if (!get(h.nodeid, dir) || reader_.open_dir(dir, in.offset, d) != SQFS_OK) return reply(h, EIO);
  data_.assign(in.size, 0);
  squash_dirent entry;
  sqfs_err err = SQFS_OK;
  std::size_t used = 0;
  while (reader_.next(d, entry, err)) {
    const std::size_t name_len = entry.name.size();
    const std::size_t head = plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
    const std::size_t size = FUSE_DIRENT_ALIGN(head + name_len);
    if (used + size > data_.size()) break;
    if (plus) {
      fuse_entry_out e{};
      sqfs_inode child;
      if (reader_.inode(entry.inode, child) != SQFS_OK) return reply(h, EIO);
      e.nodeid = nodeid_of(entry.inode);
      e.entry_valid = e.attr_valid = forever;
      e.attr = attr(child);
      std::memcpy(data_.data() + used, &e, sizeof e);
      used += sizeof e;
    }
    fuse_dirent de{};
    de.ino = entry.inode_number;
    de.off = entry.next_offset;
    de.namelen = static_cast<std::uint32_t>(name_len);
    de.type = (sqfs_mode(entry.type) & S_IFMT) >> 12;
    std::memcpy(data_.data() + used, &de, FUSE_NAME_OFFSET);
    std::memcpy(data_.data() + used + FUSE_NAME_OFFSET, entry.name.data(), name_len);
    used += size - (plus ? sizeof(fuse_entry_out) : 0);
  }
  if (err != SQFS_OK) return reply(h, EIO);
  reply(h, 0, data_.data(), used);
}

void fuse_requests::statfs(const fuse_in_header& h) {
  fuse_statfs_out out{};
  out.st.bsize = out.st.frsize = fs_.sb.block_size;
  out.st.blocks = (fs_.sb.bytes_used + fs_.sb.block_size - 1) / fs_.sb.block_size;
  out.st.files = fs_.sb.inodes;
  out.st.namelen = SQUASHFS_NAME_LEN;
  reply(h, out);
}

void fuse_requests::getxattr(const fuse_in_header& h, const char* arg, std::size_t len) {
  fuse_getxattr_in in{};
  if (len <= sizeof in || arg[len - 1]) return reply(h, EINVAL);
  std::memcpy(&in, arg, sizeof in);
  sqfs_inode file;
  if (!get(h.nodeid, file) || reader_.xattrs(file, xattrs_) != SQFS_OK) return reply(h, EIO);
  const std::string_view name(arg + sizeof in);
  const auto it = std::find_if(xattrs_.begin(), xattrs_.end(),
                               [&](const squash_xattr& x) { return x.name == name; });
  if (it == xattrs_.end()) return reply(h, ENODATA);
  if (in.size == 0) {
    fuse_getxattr_out out{};
    out.size = static_cast<std::uint32_t>(it->value.size());
    return reply(h, out);
  }
  if (it->value.size() > in.size) return reply(h, ERANGE);
  reply(h, 0, it->value.data(), it->value.size());
}

void fuse_requests::listxattr(const fuse_in_header& h, const char* arg, std::size_t len) {
  fuse_getxattr_in in{};
  std::memcpy(&in, arg, std::min(len, sizeof in));
  sqfs_inode file;
  if (!get(h.nodeid, file) || reader_.xattrs(file, xattrs_) != SQFS_OK) return reply(h, EIO);
  data_.clear();
  for (const auto& x : xattrs_) {
    data_.insert(data_.end(), x.name.begin(), x.name.end());
    data_.push_back('\0');
  }
  if (in.size == 0) {
    fuse_getxattr_out out{};
    out.size = static_cast<std::uint32_t>(data_.size());
    return reply(h, out);
  }
  if (data_.size() > in.size) return reply(h, ERANGE);
  reply(h, 0, data_.data(), data_.size());
}

// False when the kernel says the filesystem is going away.
bool fuse_requests::handle(const fuse_in_header& h, const char* arg, std::size_t len) {
  ++counts_[std::min<std::uint32_t>(h.opcode, 63)];
  switch (h.opcode) {
    case FUSE_INIT:
      init(h, arg, len);
      break;
    case FUSE_LOOKUP:
      lookup(h, arg, len);
      break;
    case FUSE_GETATTR:
      getattr(h);
      break;
    case FUSE_READLINK:
      readlink(h);
      break;
    case FUSE_OPEN:
      open(h, arg, len, false);
      break;
    case FUSE_OPENDIR:
      open(h, arg, len, true);
      break;
    case FUSE_READ:
      read(h, arg, len);
      break;
    case FUSE_READDIR:
    case FUSE_READDIRPLUS:
      readdir(h, arg, len, h.opcode == FUSE_READDIRPLUS);
      break;
    case FUSE_RELEASE:
    case FUSE_RELEASEDIR:
      reply(h, 0);
      break;
    case FUSE_STATFS:
      statfs(h);
      break;
    // ENOSYS tells the kernel never to ask again: an image without
    // xattrs_ saves a round trip per exec (security.capability).
    case FUSE_GETXATTR:
      has_xattrs_ ? getxattr(h, arg, len) : reply(h, ENOSYS);
      break;
    case FUSE_LISTXATTR:
      has_xattrs_ ? listxattr(h, arg, len) : reply(h, ENOSYS);
      break;
    case FUSE_FORGET:
    case FUSE_BATCH_FORGET:
    case FUSE_INTERRUPT:
      break;  // no reply: node ids are stateless, requests short
    case FUSE_DESTROY:
      reply(h, 0);
      return false;
    default:
      reply(h, ENOSYS);
      break;  // ACCESS, FLUSH, locks...: the kernel's defaults
  }
  return true;
}

}  // namespace elements::runtime
