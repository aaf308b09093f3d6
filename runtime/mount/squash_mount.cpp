#include "runtime/mount/squash_mount.hpp"

#include <sys/stat.h>

#include <zstd.h>

#include <atomic>
#include <memory>

#include "elements/error.hpp"
#include "runtime/image/squash_image.hpp"
#include "runtime/image/verified_reads.hpp"

namespace elements::runtime {
namespace {

std::atomic<std::uint64_t> decompressed{0};

// read_payload_file reads whole files the runtime itself uses (the spec):
// a size beyond this is damage, not a file to allocate for.
constexpr std::uint64_t max_payload_file = 16 << 20;

// libsquashfuse's zstd decompressor calls ZSTD_decompress, which allocates
// (and, at 130 KiB, maps and unmaps) a fresh context for every block. One
// context per thread, reused, decompresses the same bytes without that.
struct dctx_deleter {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

sqfs_err zstd_reusing_context(void* in, size_t insz, void* out, size_t* outsz) {
  thread_local std::unique_ptr<ZSTD_DCtx, dctx_deleter> dctx(ZSTD_createDCtx());
  decompressed.fetch_add(1, std::memory_order_relaxed);
  if (!dctx) return SQFS_ERR;
  const size_t n = ZSTD_decompressDCtx(dctx.get(), out, *outsz, in, insz);
  if (ZSTD_isError(n)) return SQFS_ERR;
  *outsz = n;
  return SQFS_OK;
}

// The other compressors as the library does them, counted. The callback
// carries no context, hence one per compression type.
template <sqfs_compression_type type>
sqfs_err counted(void* in, size_t insz, void* out, size_t* outsz) {
  decompressed.fetch_add(1, std::memory_order_relaxed);
  return sqfs_decompressor_get(type)(in, insz, out, outsz);
}
constexpr sqfs_decompressor counted_by_type[] = {nullptr,
                                                 counted<ZLIB_COMPRESSION>,
                                                 counted<LZMA_COMPRESSION>,
                                                 counted<LZO_COMPRESSION>,
                                                 counted<XZ_COMPRESSION>,
                                                 counted<LZ4_COMPRESSION>};

}  // namespace

std::uint64_t blocks_decompressed() {
  return decompressed.load(std::memory_order_relaxed);
}

void open_squash(sqfs* fs, int fd, const std::string& path, std::uint64_t offset) {
  check_superblock(fd, path, offset);
  const std::string where = path + ": the payload at offset " + std::to_string(offset);
  // First, so that the library's very first read is checked too.
  attach_block_digests(fd, path, offset);
  const sqfs_err opened = sqfs_init(fs, fd, static_cast<std::size_t>(offset));
  if (opened != SQFS_OK) {
    // sqfs_init and sqfs_destroy leave the xattr table's index allocated.
    sqfs_table_destroy(&fs->xattr_table);
    if (auto mismatch = digest_mismatch_message(path, "its superblock and tables");
        !mismatch.empty())
      throw error(mismatch);
  }
  switch (opened) {
    case SQFS_OK:
      // sqfs_init has refused the types this build cannot decompress.
      if (const auto type = sqfs_compression(fs); type == ZSTD_COMPRESSION)
        fs->decompressor = zstd_reusing_context;
      else if (type > 0 && type < ZSTD_COMPRESSION)
        fs->decompressor = counted_by_type[type];
      return;
    case SQFS_BADFORMAT:
      throw error(where +
                  " is not a squashfs image (hint: the file is damaged or truncated; "
                  "download or build it again)");
    case SQFS_BADVERSION: {
      int major = 0, minor = 0;
      sqfs_version(fs, &major, &minor);
      throw error(where + " is squashfs " + std::to_string(major) + "." + std::to_string(minor) +
                  ", which this runtime cannot read (hint: rebuild it with elements-pack)");
    }
    case SQFS_BADCOMP: {
      const char* name = sqfs_compression_name(sqfs_compression(fs));
      throw error(where + " is compressed with " + (name ? name : "an unknown method") +
                  ", which this runtime cannot read (hint: rebuild it with --compression zstd)");
    }
    default:
      throw error(where +
                  " cannot be read (hint: the file is damaged or truncated; download "
                  "or build it again)");
  }
}

void close_squash(sqfs* fs) {
  sqfs_destroy(fs);
  sqfs_table_destroy(&fs->xattr_table);
}

sqfs_inode squash_image::root() {
  return inode(sqfs_inode_root(&fs_));
}

sqfs_inode squash_image::inode(sqfs_inode_id id) {
  sqfs_inode in{};
  if (reader_.inode(id, in) != SQFS_OK) damaged("an inode");
  return in;
}

std::size_t squash_image::read(const sqfs_inode& in, std::uint64_t offset, void* buf,
                               std::size_t size, std::string_view what) {
  if (reader_.read(in, offset, buf, size) != SQFS_OK) damaged(what);
  return size;
}

std::string squash_image::readlink(const sqfs_inode& in) {
  std::string target;
  if (reader_.readlink(in, target) != SQFS_OK) damaged("a symbolic link");
  return target;
}

void squash_image::damaged(std::string_view what) const {
  if (auto mismatch = digest_mismatch_message(path_, what); !mismatch.empty())
    throw error(mismatch);
  throw error(
      path_ + ": cannot read " + std::string(what) +
      " of the payload (hint: the file is damaged or truncated; download or build it again)");
}

std::string read_payload_file(const payload_file& file, std::string_view path) {
  squash_image img(file);
  sqfs_inode in = img.root();
  const std::string p(path);
  bool found = false;
  if (img.reader().lookup_path(in, p, found) != SQFS_OK) img.damaged(p);
  if (!found)
    throw error(file.path + ": the payload has no " + p +
                " (hint: this file was not built by elements-pack; rebuild it)");
  if (!S_ISREG(in.base.mode))
    throw error(file.path + ": " + p + " in the payload is not a regular file (hint: rebuild it)");
  if (in.xtra.reg.file_size > max_payload_file)
    throw error(file.path + ": " + p + " in the payload is " +
                std::to_string(in.xtra.reg.file_size) +
                " bytes, more than such a file can be (hint: the file is damaged or crafted; "
                "download or build it again)");
  std::string data(in.xtra.reg.file_size, '\0');
  data.resize(img.read(in, 0, data.data(), data.size(), p));
  return data;
}

namespace {

class directory_payload final : public mounted_payload {
 public:
  explicit directory_payload(std::string root) : root_(std::move(root)) {}
  const std::string& root() const override { return root_; }
  mount_method method() const override { return mount_method::directory; }

 private:
  std::string root_;
};

}  // namespace

std::unique_ptr<mounted_payload> plain_directory(const std::string& root) {
  return std::make_unique<directory_payload>(root);
}

}  // namespace elements::runtime
