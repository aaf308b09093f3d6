// Reads a tar archive (plain, gzip, zstd, xz, bzip2, lz4) with libarchive
// from a file descriptor, optionally hashing every byte it reads, so a layer
// is parsed and verified in one pass over its blob.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "digest.hpp"

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
  };

  // `fd` is read from offset 0 with pread, so the caller's offset is never
  // moved and the same fd can be read again. `name` prefixes messages.
  archive_reader(int fd, std::string name, format f, bool hash);
  ~archive_reader();
  archive_reader(const archive_reader&) = delete;
  archive_reader& operator=(const archive_reader&) = delete;

  // The next entry, or null at the end. Throws elements::error when the
  // archive is damaged.
  archive_entry* next();
  // Passes the current entry's bytes to `out`, holes of sparse files as zeros.
  void read_data(const std::function<void(std::span<const unsigned char>)>& out);
  // Hashes the rest of the file (libarchive stops at the end-of-archive
  // marker) and returns the digest of all of it. Only with `hash`.
  digest_result finish();

  const std::string& name() const noexcept { return name_; }

 private:
  [[noreturn]] void fail(const std::string& what) const;
  static ssize_t read_callback(struct archive*, void* self, const void** buffer);
  static std::int64_t skip_callback(struct archive*, void* self, std::int64_t request);

  struct archive* a_;
  int fd_;
  std::string name_;
  bool hash_;
  std::uint64_t at_ = 0;
  std::uint64_t file_size_ = 0;
  std::vector<unsigned char> buf_;    // what libarchive reads from the file
  std::vector<unsigned char> chunk_;  // what it decompresses into for read_data
  sha256_hasher hasher_;
};

}  // namespace elements::builder
