// Reads a tar archive (plain, gzip, zstd, xz, bzip2, lz4) with libarchive
// from a file descriptor, optionally hashing every byte it reads and every
// byte it decompresses, so a layer is parsed and verified against both its
// blob digest and its diff_id in one pass over its blob.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "builder/digest.hpp"
#include "elements/unique_fd.hpp"

struct archive;
struct archive_entry;

namespace elements::builder {

class archive_reader {
 public:
  enum class format {
    tar,  // entries of a tar archive (an empty file is an empty archive)
    raw,  // one entry: the decompressed bytes, whatever they are
  };
  struct digest_result {
    std::string digest;  // "sha256:<hex>" of the file's bytes, as stored
    std::uint64_t size = 0;
    // Of the tar the file decompresses to (with `hash_tar`), as an image
    // config's rootfs.diff_ids name it; empty when it could not be read whole.
    std::string tar_digest;
  };

  // `fd` is read from offset 0 with pread, so the caller's offset is never
  // moved and the same fd can be read again. `name` prefixes messages.
  // `hash` hashes the file's bytes; `hash_tar` (format::tar only) also what
  // they decompress to.
  archive_reader(int fd, std::string name, format f, bool hash, bool hash_tar = false);
  ~archive_reader();
  archive_reader(const archive_reader&) = delete;
  archive_reader& operator=(const archive_reader&) = delete;

  // The next entry, or null at the end. Throws elements::error when the
  // archive is damaged.
  archive_entry* next();
  // Passes the current entry's bytes to `out`, holes of sparse files as zeros.
  void read_data(const std::function<void(std::span<const unsigned char>)>& out);

  // Where an entry's bytes lie in the archive file as they are.
  struct extent {
    std::shared_ptr<const unique_fd> file;  // the archive, open as long as a content needs it
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
  };
  // For an uncompressed archive read without hashing and an entry that is
  // not sparse: the extent of the current entry's bytes, which are skipped
  // rather than read. Otherwise (or when libarchive holds them in a buffer
  // of its own) passes them to `out` like read_data and returns nullopt.
  std::optional<extent> locate_data(archive_entry* entry,
                                    const std::function<void(std::span<const unsigned char>)>& out);
  // Hashes the rest of the file and of its decompressed bytes (libarchive
  // stops at the end-of-archive marker) and returns the digests of all of
  // them. Only with `hash`.
  digest_result finish();

  const std::string& name() const noexcept { return name_; }

 private:
  // Throws naming the failed step and libarchive's reason (of `a`, else a_).
  [[noreturn]] void fail(const std::string& what, struct archive* a = nullptr) const;
  void open(struct archive* a, ssize_t (*read)(struct archive*, void*, const void**));
  static ssize_t read_callback(struct archive*, void* self, const void** buffer);
  static ssize_t tar_callback(struct archive*, void* self, const void** buffer);
  static std::int64_t skip_callback(struct archive*, void* self, std::int64_t request);

  using archive_ptr = std::unique_ptr<struct archive, int (*)(struct archive*)>;
  archive_ptr a_;
  // With `hash_tar`: the decompressing reader whose output a_ parses.
  archive_ptr raw_;
  bool raw_at_end_ = false;
  int fd_;
  std::string name_;
  bool hash_;
  std::uint64_t at_ = 0;
  std::uint64_t buf_at_ = 0;                    // where in the file buf_ was read from
  std::size_t buf_len_ = 0;                     // and how much of it holds bytes
  std::shared_ptr<const unique_fd> shared_fd_;  // a copy of fd_ for located contents
  std::uint64_t file_size_ = 0;
  std::vector<unsigned char> buf_;    // what libarchive reads from the file
  std::vector<unsigned char> chunk_;  // what it decompresses into for read_data
  std::vector<unsigned char> tar_;    // the decompressed tar, on its way from raw_ to a_
  sha256_hasher hasher_;
  sha256_hasher tar_hasher_;
};

}  // namespace elements::builder
