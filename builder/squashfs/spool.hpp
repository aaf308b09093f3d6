// Where the bytes of files read from archives wait until the image is
// written: temporary files, so that a large rootfs is never held in memory,
// or the archive itself when it holds them as they are.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "builder/tree.hpp"
#include "elements/unique_fd.hpp"

struct archive_entry;

namespace elements::builder {

class archive_reader;

// TMPDIR when it is an absolute path, else /tmp.
std::string temp_folder();

// An unlinked temporary file in temp_folder(), for bytes too large to hold
// in memory; it is gone when the last descriptor closes.
unique_fd temporary_file();

// Keeps a temporary file from filling its disk (a compressed archive may
// unpack to far more than the disk holds): before each write, at most every
// few MiB, it looks at the room left and stops the build with an error
// naming the folder, the size reached and the fix while a margin is still
// free (a twentieth of the disk, at least 16 MiB, at most 1 GiB).
class room_guard {
 public:
  // `what` names the file's contents in the message ("the files of the image").
  room_guard(std::string folder, std::string what);
  // Before `n` more bytes go to `fd`, which holds `size` bytes so far.
  void before_write(int fd, std::uint64_t size, std::size_t n);

 private:
  std::string folder_, what_;
  std::uint64_t unchecked_;
};

// Regular files' bytes in one unlinked temporary file, appended to and read
// back with pread. It lives as long as the last file that points into it.
class content_spool {
 public:
  content_spool();
  // The current entry's bytes of `from`: copied, or where the archive holds
  // them as they are, read from it later. `what` names them in messages.
  std::shared_ptr<const file_content> add(archive_reader& from, archive_entry* entry,
                                          std::string what);

  struct file;  // the temporary file, shared with the contents in it

 private:
  std::shared_ptr<file> file_;
};

}  // namespace elements::builder
