// Writes a tree as a squashfs image with libsquashfs: data blocks compressed
// by one worker per core, fragments and deduplication as the library does
// them, and the same bytes for the same tree and options.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "builder/squashfs/compression.hpp"
#include "builder/tree.hpp"

namespace elements::builder {

// Larger blocks compress better but slow start-up (DESIGN.md section 1).
inline constexpr std::uint32_t default_block_size = 128 * 1024;

struct squashfs_options {
  compression comp;
  std::uint32_t block_size = default_block_size;
  std::uint32_t mkfs_time = 0;
  // SOURCE_DATE_EPOCH: no mtime in the image is later than this.
  std::optional<std::int64_t> clamp_mtime;
  unsigned workers = 0;   // 0: one per core the process may run on
  std::string file_name;  // the file written, for messages; empty: "the squashfs image"
  // The file will be fsynced: start writing it to disk while it is made.
  bool write_behind = false;
  // Told, on the calling thread, how many bytes of file contents went to the
  // compressor so far, of how many (0 when not known).
  std::function<void(std::uint64_t done, std::uint64_t total)> on_data;
};

struct squashfs_result {
  std::uint64_t size = 0;  // bytes written, padded to 4 KiB
  std::uint32_t inodes = 0;
  std::uint64_t data_bytes = 0;  // file contents read
};

// Writes `root` (a directory) as a squashfs image starting at byte `offset`
// of `fd`, which must be open for reading and writing: deduplication reads
// blocks back. Throws elements::error naming the entry or the step that failed.
squashfs_result write_squashfs(int fd, std::uint64_t offset, const node_ptr& root,
                               const squashfs_options& options);

}  // namespace elements::builder
