#include "builder/squashfs/squashfs_writer.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <sqfs/block_processor.h>
#include <sqfs/block_writer.h>
#include <sqfs/compressor.h>
#include <sqfs/dir_writer.h>
#include <sqfs/error.h>
#include <sqfs/frag_table.h>
#include <sqfs/id_table.h>
#include <sqfs/inode.h>
#include <sqfs/io.h>
#include <sqfs/meta_writer.h>
#include <sqfs/super.h>
#include <sqfs/xattr_writer.h>

#include "builder/cores.hpp"
#include "builder/publish/offset_file.hpp"
#include "builder/publish/output_file.hpp"
#include "elements/error.hpp"

namespace elements::builder {
namespace {

struct sqfs_deleter {
  void operator()(void* p) const { sqfs_destroy(p); }
};
template <typename T>
using sqfs_ptr = std::unique_ptr<T, sqfs_deleter>;

struct inode_deleter {
  void operator()(sqfs_inode_generic_t* p) const { sqfs_free(p); }
};
using inode_ptr = std::unique_ptr<sqfs_inode_generic_t, inode_deleter>;

constexpr std::uint32_t no_xattrs = 0xFFFFFFFF;
constexpr std::size_t max_name = 256;  // SQFS_MAX_NAME_LEN of the on-disk format

const char* sqfs_error_text(int rc) {
  switch (rc) {
    case SQFS_ERROR_ALLOC:
      return "out of memory";
    case SQFS_ERROR_IO:
      return "input/output error";
    case SQFS_ERROR_COMPRESSOR:
      return "the compressor failed";
    case SQFS_ERROR_UNSUPPORTED:
      return "not supported by this libsquashfs";
    case SQFS_ERROR_OVERFLOW:
      return "too large for squashfs";
    case SQFS_ERROR_ARG_INVALID:
      return "invalid argument";
    default:
      return "internal error";
  }
}

// What the writer knows about each unique inode, in the order they are written.
struct inode_slot {
  node* n = nullptr;
  const node* parent = nullptr;  // directories only
  std::string path;              // the first path that reaches it, for messages
  std::uint32_t number = 0;
  std::uint32_t nlink = 1;
  sqfs_u64 ref = 0;
  sqfs_inode_generic_t* file_inode = nullptr;  // filled in by the block processor

  inode_slot() = default;
  inode_slot(inode_slot&& o) noexcept
      : n(o.n),
        parent(o.parent),
        path(std::move(o.path)),
        number(o.number),
        nlink(o.nlink),
        ref(o.ref),
        file_inode(std::exchange(o.file_inode, nullptr)) {}
  ~inode_slot() { sqfs_free(file_inode); }
};

class image_writer {
 public:
  image_writer(int fd, std::uint64_t offset, const squashfs_options& options)
      : options_(options), file_(fd, offset) {
    file_.write_behind = options.write_behind;
  }

  squashfs_result write(const node_ptr& root) {
    if (!root->is_dir()) throw error("the squashfs root must be a folder", exit_build_failed);
    collect(root, "", nullptr);
    open();
    write_data();
    write_inodes();
    return finish();
  }

 private:
  // Post-order: a directory's entries need their inodes' numbers and
  // locations, so every inode comes before the directory that lists it.
  // Entries are visited in name order, which makes the numbering, the data
  // layout and therefore the image a function of the tree alone.
  void collect(const node_ptr& n, const std::string& path, const node* parent) {
    if (auto it = index_.find(n.get()); it != index_.end()) {
      if (n->is_dir())
        throw error((path.empty() ? "/" : path) + ": a folder cannot be a hard link",
                    exit_build_failed);
      ++slots_[it->second].nlink;
      return;
    }
    if (n->is_dir()) {
      if (!visiting_.insert(n.get()).second)
        throw error((path.empty() ? "/" : path) + ": a folder contains itself", exit_build_failed);
      std::uint32_t subdirs = 0;
      for (const auto& [name, child] : n->entries) {
        check_name(name, path);
        collect(child, path + "/" + name, n.get());
        if (child->is_dir()) ++subdirs;
      }
      visiting_.erase(n.get());
      add(n, path, parent, 2 + subdirs);
    } else {
      if (S_ISLNK(n->mode) && n->link_target.empty())
        throw error(path + ": a symlink needs a target", exit_build_failed);
      if (S_ISREG(n->mode) && !n->content)
        throw error(path + ": a file without content", exit_build_failed);
      add(n, path, parent, 1);
    }
  }

  void add(const node_ptr& n, const std::string& path, const node* parent, std::uint32_t nlink) {
    if (slots_.size() >= std::numeric_limits<std::uint32_t>::max() - 1)
      throw error("too many files for one squashfs image", exit_build_failed);
    index_.emplace(n.get(), slots_.size());
    inode_slot& s = slots_.emplace_back();
    s.n = n.get();
    s.parent = parent;
    s.path = path.empty() ? "/" : path;
    s.number = static_cast<std::uint32_t>(slots_.size());
    s.nlink = nlink;
  }

  static void check_name(const std::string& name, const std::string& dir) {
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
        name.find('\0') != std::string::npos)
      throw error((dir.empty() ? "/" : dir) + ": invalid entry name \"" + name + "\"",
                  exit_build_failed);
    if (name.size() > max_name)
      throw error(dir + "/" + name + ": name longer than the " + std::to_string(max_name) +
                      " bytes squashfs allows",
                  exit_build_failed);
  }

  void check(int rc, std::string_view what) const {
    if (rc == 0) return;
    const std::string file = options_.file_name.empty() ? "the squashfs image" : options_.file_name;
    // The file itself failed (a full disk): that is the cause, whatever was being written.
    if (rc == SQFS_ERROR_IO && file_.saved_errno != 0)
      throw output_write_error(file, file_.saved_errno);
    throw error("cannot write " + file + ": " + std::string(what) + ": " + sqfs_error_text(rc),
                exit_build_failed);
  }

  template <typename T>
  T* made(T* p, std::string_view what) const {
    if (p == nullptr) check(SQFS_ERROR_ALLOC, what);
    return p;
  }

  void open() {
    cmp_ = make_compressor(options_.comp, options_.block_size, false);
    // The decompressor lets the block processor compare a fragment byte for
    // byte before sharing it, instead of trusting a 32-bit hash.
    uncmp_ = make_compressor(options_.comp, options_.block_size, true);

    check(sqfs_super_init(&super_, options_.block_size, options_.mkfs_time,
                          compressor_id(options_.comp.kind)),
          "the super block");
    check(sqfs_super_write(&super_, &file_.base), "writing the super block");
    int opts = cmp_->write_options(cmp_.get(), &file_.base);
    if (opts < 0) check(opts, "writing the compressor options");
    if (opts > 0) super_.flags |= SQFS_FLAG_COMPRESSOR_OPTIONS;

    blkwr_.reset(made(sqfs_block_writer_create(&file_.base, SQFS_DEVBLK_SIZE, 0), "block writer"));
    frags_.reset(made(sqfs_frag_table_create(0), "fragment table"));
    ids_.reset(made(sqfs_id_table_create(0), "id table"));
    xattrs_.reset(made(sqfs_xattr_writer_create(0), "xattr writer"));
    inodes_.reset(made(sqfs_meta_writer_create(&file_.base, cmp_.get(), 0), "inode table"));
    dirs_.reset(
        made(sqfs_meta_writer_create(&file_.base, cmp_.get(), SQFS_META_WRITER_KEEP_IN_MEMORY),
             "directory table"));
    dirwr_.reset(made(sqfs_dir_writer_create(dirs_.get(), 0), "directory writer"));

    const unsigned workers = options_.workers ? options_.workers : usable_cores();
    sqfs_block_processor_desc_t desc{};
    desc.size = sizeof desc;
    desc.max_block_size = options_.block_size;
    desc.num_workers = workers;
    // Enough blocks in flight to keep every worker busy while the main thread
    // reads files and writes finished blocks in order. With many small files
    // the main thread's per-file work comes in bursts: 10 blocks a worker
    // left the workers idle (a 418 MiB tree of 33,000 files took 3.1 s
    // against mksquashfs's 2.65 s); 64 (16 MiB of 128 KiB blocks a worker)
    // took 2.7 s, and 256 gained nothing more.
    desc.max_backlog = workers * 64;
    desc.cmp = cmp_.get();
    desc.wr = blkwr_.get();
    desc.tbl = frags_.get();
    desc.file = &file_.base;
    desc.uncmp = uncmp_.get();
    sqfs_block_processor_t* proc = nullptr;
    check(sqfs_block_processor_create_ex(&desc, &proc), "starting the block processor");
    proc_.reset(proc);
  }

  void write_data() {
    std::uint64_t total = 0;
    if (options_.on_data)
      for (const auto& s : slots_)
        if (S_ISREG(s.n->mode)) total += s.n->content->size_hint();
    for (auto& s : slots_) {
      if (!S_ISREG(s.n->mode)) continue;
      check(sqfs_block_processor_begin_file(proc_.get(), &s.file_inode, nullptr, 0), s.path);
      s.n->content->read([&](std::span<const unsigned char> bytes) {
        data_bytes_ += bytes.size();
        check(sqfs_block_processor_append(proc_.get(), bytes.data(), bytes.size()), s.path);
        if (options_.on_data) options_.on_data(data_bytes_, total);
      });
      check(sqfs_block_processor_end_file(proc_.get()), s.path);
    }
    check(sqfs_block_processor_finish(proc_.get()), "finishing the data blocks");
    // The data is final: its last megabytes go to disk while the tables are made.
    file_.hand_to_disk(file_.size);
    if (options_.on_data) options_.on_data(data_bytes_, std::max(total, data_bytes_));
  }

  std::uint32_t clamp_time(std::int64_t t) const {
    if (options_.clamp_mtime && t > *options_.clamp_mtime) t = *options_.clamp_mtime;
    return static_cast<std::uint32_t>(
        std::clamp<std::int64_t>(t, 0, std::numeric_limits<std::uint32_t>::max()));
  }

  std::uint32_t xattr_index(const node& n, const std::string& path) {
    if (n.xattrs.empty()) return no_xattrs;
    check(sqfs_xattr_writer_begin(xattrs_.get(), 0), path);
    for (const auto& [key, value] : n.xattrs) {
      int rc = sqfs_xattr_writer_add(xattrs_.get(), key.c_str(), value.data(), value.size());
      if (rc == SQFS_ERROR_UNSUPPORTED)
        throw error(path + ": squashfs cannot store the xattr " + key +
                        " (only user.*, trusted.* and security.*)",
                    exit_build_failed);
      check(rc, path);
    }
    std::uint32_t idx = no_xattrs;
    check(sqfs_xattr_writer_end(xattrs_.get(), &idx), path);
    return idx;
  }

  inode_ptr directory_inode(const inode_slot& s, std::uint32_t xattr) {
    check(sqfs_dir_writer_begin(dirwr_.get(), 0), s.path);
    for (const auto& [name, child] : s.n->entries) {
      const inode_slot& c = slots_[index_.at(child.get())];
      check(sqfs_dir_writer_add_entry(dirwr_.get(), name.c_str(), c.number, c.ref,
                                      static_cast<sqfs_u16>(child->mode)),
            c.path);
    }
    check(sqfs_dir_writer_end(dirwr_.get()), s.path);
    // The root's parent is one past the last inode, as mksquashfs records it.
    const std::uint32_t parent = s.parent ? slots_[index_.at(s.parent)].number
                                          : static_cast<std::uint32_t>(slots_.size() + 1);
    inode_ptr ino(sqfs_dir_writer_create_inode(dirwr_.get(), s.nlink, xattr, parent));
    if (!ino) check(SQFS_ERROR_ALLOC, s.path);
    return ino;
  }

  static inode_ptr special_inode(const node& n) {
    const std::size_t extra = S_ISLNK(n.mode) ? n.link_target.size() : 0;
    inode_ptr ino(
        static_cast<sqfs_inode_generic_t*>(std::calloc(1, sizeof(sqfs_inode_generic_t) + extra)));
    if (!ino) throw std::bad_alloc();
    switch (n.mode & S_IFMT) {
      case S_IFLNK:
        ino->base.type = SQFS_INODE_SLINK;
        ino->data.slink.target_size = static_cast<sqfs_u32>(extra);
        ino->payload_bytes_available = ino->payload_bytes_used = static_cast<sqfs_u32>(extra);
        std::memcpy(ino->extra, n.link_target.data(), extra);
        break;
      case S_IFCHR:
      case S_IFBLK: {
        ino->base.type = S_ISCHR(n.mode) ? SQFS_INODE_CDEV : SQFS_INODE_BDEV;
        // The kernel's new_encode_dev(), which squashfs stores.
        const auto maj = ::major(n.rdev), min = ::minor(n.rdev);
        ino->data.dev.devno = (min & 0xFF) | (maj << 8) | ((min & ~0xFFu) << 12);
        break;
      }
      case S_IFIFO:
        ino->base.type = SQFS_INODE_FIFO;
        break;
      case S_IFSOCK:
        ino->base.type = SQFS_INODE_SOCKET;
        break;
      default:
        throw std::logic_error("unknown file type");
    }
    return ino;
  }

  static void set_nlink(sqfs_inode_generic_t& ino, std::uint32_t nlink) {
    switch (ino.base.type) {
      case SQFS_INODE_DIR:
        ino.data.dir.nlink = nlink;
        break;
      case SQFS_INODE_EXT_DIR:
        ino.data.dir_ext.nlink = nlink;
        break;
      case SQFS_INODE_EXT_FILE:
        ino.data.file_ext.nlink = nlink;
        break;
      case SQFS_INODE_SLINK:
        ino.data.slink.nlink = nlink;
        break;
      case SQFS_INODE_EXT_SLINK:
        ino.data.slink_ext.nlink = nlink;
        break;
      case SQFS_INODE_BDEV:
      case SQFS_INODE_CDEV:
        ino.data.dev.nlink = nlink;
        break;
      case SQFS_INODE_EXT_BDEV:
      case SQFS_INODE_EXT_CDEV:
        ino.data.dev_ext.nlink = nlink;
        break;
      case SQFS_INODE_FIFO:
      case SQFS_INODE_SOCKET:
        ino.data.ipc.nlink = nlink;
        break;
      case SQFS_INODE_EXT_FIFO:
      case SQFS_INODE_EXT_SOCKET:
        ino.data.ipc_ext.nlink = nlink;
        break;
      default:
        break;  // a basic file inode has no link count; see write_inodes
    }
  }

  void write_inodes() {
    super_.inode_table_start = file_.size;
    for (auto& s : slots_) {
      const node& n = *s.n;
      const std::uint32_t xattr = xattr_index(n, s.path);
      inode_ptr ino;
      if (n.is_dir()) {
        ino = directory_inode(s, xattr);
      } else {
        ino = S_ISREG(n.mode) ? inode_ptr(std::exchange(s.file_inode, nullptr)) : special_inode(n);
        // Setting "no xattrs" demotes an extended inode to a basic one, so it
        // comes before the promotion a link count may need.
        check(sqfs_inode_set_xattr_index(ino.get(), xattr), s.path);
        // Only the extended file inode records a link count.
        if (S_ISREG(n.mode) && s.nlink > 1) check(sqfs_inode_make_extended(ino.get()), s.path);
      }
      set_nlink(*ino, s.nlink);
      ino->base.mode = static_cast<sqfs_u16>(n.mode);
      ino->base.mod_time = clamp_time(n.mtime);
      ino->base.inode_number = s.number;
      check(sqfs_id_table_id_to_index(ids_.get(), n.uid, &ino->base.uid_idx), s.path);
      check(sqfs_id_table_id_to_index(ids_.get(), n.gid, &ino->base.gid_idx), s.path);
      sqfs_u64 block = 0;
      sqfs_u32 offset = 0;
      sqfs_meta_writer_get_position(inodes_.get(), &block, &offset);
      s.ref = (block << 16) | offset;
      check(sqfs_meta_writer_write_inode(inodes_.get(), ino.get()), s.path);
    }
    check(sqfs_meta_writer_flush(inodes_.get()), "the inode table");
    check(sqfs_meta_writer_flush(dirs_.get()), "the directory table");
    super_.root_inode_ref = slots_.back().ref;
    super_.directory_table_start = file_.size;
    check(sqfs_meta_write_write_to_file(dirs_.get()), "the directory table");
    super_.inode_count = static_cast<sqfs_u32>(slots_.size());
  }

  squashfs_result finish() {
    check(sqfs_frag_table_write(frags_.get(), &file_.base, &super_, cmp_.get()),
          "the fragment table");
    check(sqfs_id_table_write(ids_.get(), &file_.base, &super_, cmp_.get()), "the id table");
    check(sqfs_xattr_writer_flush(xattrs_.get(), &file_.base, &super_, cmp_.get()),
          "the xattr table");
    super_.bytes_used = file_.size;
    check(sqfs_super_write(&super_, &file_.base), "the super block");
    // Padded to the device block size, as mksquashfs does, so loop devices
    // see whole blocks.
    if (std::size_t tail = file_.size % SQFS_DEVBLK_SIZE) {
      std::vector<char> zeros(SQFS_DEVBLK_SIZE - tail, 0);
      check(file_.base.write_at(&file_.base, file_.size, zeros.data(), zeros.size()), "padding");
    }
    return {file_.size, super_.inode_count, data_bytes_};
  }

  const squashfs_options& options_;
  offset_file file_;
  sqfs_super_t super_{};
  std::vector<inode_slot> slots_;
  std::unordered_map<const node*, std::size_t> index_;
  std::unordered_set<const node*> visiting_;
  std::uint64_t data_bytes_ = 0;

  // Declared in dependency order: members are destroyed in reverse, so the
  // block processor (whose threads write through the others) goes first.
  compressor_ptr cmp_;
  compressor_ptr uncmp_;
  sqfs_ptr<sqfs_block_writer_t> blkwr_;
  sqfs_ptr<sqfs_frag_table_t> frags_;
  sqfs_ptr<sqfs_id_table_t> ids_;
  sqfs_ptr<sqfs_xattr_writer_t> xattrs_;
  sqfs_ptr<sqfs_meta_writer_t> inodes_;
  sqfs_ptr<sqfs_meta_writer_t> dirs_;
  sqfs_ptr<sqfs_dir_writer_t> dirwr_;
  sqfs_ptr<sqfs_block_processor_t> proc_;
};

}  // namespace

squashfs_result write_squashfs(int fd, std::uint64_t offset, const node_ptr& root,
                               const squashfs_options& options) {
  image_writer w(fd, offset, options);
  return w.write(root);
}

}  // namespace elements::builder
