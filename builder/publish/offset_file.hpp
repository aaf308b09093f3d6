// An sqfs_file_t over a file descriptor, shifted by an offset so the squashfs
// image can sit behind the runtime in the same file.
#pragma once

#include <cstdint>

#include <sqfs/io.h>

namespace elements::builder {

struct offset_file {
  sqfs_file_t base{};  // first, so the library's pointer converts back
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;  // of the image, not of the file
  int saved_errno = 0;     // of the last failed call, for the message
  // When set, written bytes are handed to the disk as the image grows, so
  // the fsync that ends the build waits for the last few megabytes only.
  bool write_behind = false;
  std::uint64_t handed = 0;  // image bytes handed to the disk so far

  offset_file(int fd, std::uint64_t offset);
  // With write_behind, starts writing the image up to `end` to disk.
  void hand_to_disk(std::uint64_t end);
};

}  // namespace elements::builder
