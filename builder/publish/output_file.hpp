// The output appears whole or not at all, and a build that dies leaves
// nothing behind, SIGKILL included. The file is written unnamed (O_TMPFILE)
// in the output's folder, made executable, flushed, and only then linked
// into place: until then no name exists, and the kernel frees an unnamed
// file when its last descriptor closes, however the process ended. An
// existing output is replaced by linking the file as FILE.tmp.PID and
// renaming that over it.
//
// Where the folder's filesystem or a missing /proc rules that out, the file
// is FILE.tmp.PID from the start (write, fchmod, fsync, rename), removed on
// failure and on SIGINT, SIGTERM or SIGHUP. Every FILE.tmp.PID is locked
// (flock) while its writer lives, so the next build of FILE removes those
// that SIGKILL or a crash left, and never one that is still being written.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "elements/error.hpp"
#include "elements/unique_fd.hpp"

namespace elements::builder {

class output_file {
 public:
  enum class how { unnamed_if_possible, named };

  // `mode`: the file's permissions once committed (executable by default).
  explicit output_file(std::filesystem::path target, how h = how::unnamed_if_possible,
                       mode_t mode = 0755);
  output_file(const output_file&) = delete;
  output_file& operator=(const output_file&) = delete;
  ~output_file();

  int fd() const noexcept { return fd_.get(); }
  const std::filesystem::path& target() const noexcept { return target_; }
  // FILE.tmp.PID while the file has that name; empty while it is unnamed.
  const std::filesystem::path& temp_path() const noexcept { return temp_; }

  // Gives the file its mode, flushes it to disk and gives it its name.
  void commit();

 private:
  bool open_unnamed();
  void open_named();
  void link_into_place();

  std::filesystem::path target_;
  std::filesystem::path temp_;
  unique_fd fd_;
  mode_t mode_;
  bool committed_ = false;
};

// The error for a failed write to `file`: "cannot write FILE: REASON", with
// a hint for a full disk or quota.
error output_write_error(const std::filesystem::path& file, int err);

// Writes all of `bytes` at `offset` of fd; `file` names it in errors.
void write_at(int fd, std::span<const unsigned char> bytes, std::uint64_t offset,
              const std::filesystem::path& file);
inline void write_at(int fd, std::string_view text, std::uint64_t offset,
                     const std::filesystem::path& file) {
  write_at(fd, {reinterpret_cast<const unsigned char*>(text.data()), text.size()}, offset, file);
}

// Removes FILE.tmp.PID files next to `target` whose writer is gone (their
// lock is free); the builds that left them were killed or crashed.
void remove_stale_temp_files(const std::filesystem::path& target);

}  // namespace elements::builder
