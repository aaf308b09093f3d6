#include "builder/squashfs/spool.hpp"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "builder/sources/archive_reader.hpp"
#include "elements/error.hpp"
#include "elements/private_dir.hpp"

namespace elements::builder {

struct content_spool::file {
  unique_fd fd;
  std::uint64_t end = 0;
  std::string folder;  // where it lives, for messages
  room_guard room;
};

namespace {

// A file's bytes as a range of another file: of the spool, or of an
// uncompressed archive read in place (which must stay as it is until the
// image is written, as the files of a dir: source must). `owner` keeps that
// file open; the messages say which it is.
class range_content final : public file_content {
 public:
  struct source {
    std::shared_ptr<const void> owner;
    int fd = -1;
    std::string read_what;  // "read the temporary copy of", "read"
    std::string cut_short;  // the message when the range runs past the file's end
  };

  range_content(source from, std::uint64_t offset, std::uint64_t size, std::string what)
      : from_(std::move(from)), offset_(offset), size_(size), what_(std::move(what)) {}

  void read(const sink& out) const override {
    const auto chunk = static_cast<std::size_t>(std::min<std::uint64_t>(size_, 1 << 20));
    const auto buf = std::make_unique_for_overwrite<unsigned char[]>(chunk);
    for (std::uint64_t done = 0; done < size_;) {
      const auto want = std::min<std::uint64_t>(chunk, size_ - done);
      ssize_t n = ::pread(from_.fd, buf.get(), want, static_cast<off_t>(offset_ + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno(from_.read_what, what_);
      if (n == 0) throw error(what_ + ": " + from_.cut_short, exit_build_failed);
      out({buf.get(), static_cast<std::size_t>(n)});
      done += static_cast<std::uint64_t>(n);
    }
  }

  std::string describe() const override { return what_; }
  std::uint64_t size_hint() const override { return size_; }

 private:
  source from_;
  std::uint64_t offset_;
  std::uint64_t size_;
  std::string what_;
};

[[noreturn]] void no_space(const std::string& folder, int err) {
  throw error("cannot write to a temporary file in " + folder + ": " + std::strerror(err) +
                  " (hint: set TMPDIR to a folder with room for the image)",
              exit_build_failed, std::error_code(err, std::generic_category()));
}

}  // namespace

std::string temp_folder() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp == '/' ? tmp : "/tmp";
}

unique_fd temporary_file() {
  const std::string dir = temp_folder();
  const unique_fd at = open_temp_parent(dir);
  unique_fd fd(::openat(at.get(), ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd) return fd;
  // A filesystem without O_TMPFILE: a named file in a fresh private folder,
  // both unlinked at once.
  const std::string name = make_temp_dir_at(at.get(), "elements-pack-", 0700, dir);
  scope_exit remove([&] { ::unlinkat(at.get(), name.c_str(), AT_REMOVEDIR); });
  const std::string file = name + "/spool";
  fd.reset(
      ::openat(at.get(), file.c_str(), O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) no_space(dir, errno);
  ::unlinkat(at.get(), file.c_str(), 0);
  return fd;
}

namespace {
constexpr std::uint64_t mib = 1 << 20;
constexpr std::uint64_t check_every = 4 * mib;
}  // namespace

room_guard::room_guard(std::string folder, std::string what)
    : folder_(std::move(folder)), what_(std::move(what)), unchecked_(check_every) {}

void room_guard::before_write(int fd, std::uint64_t size, std::size_t n) {
  unchecked_ += n;
  if (unchecked_ < check_every) return;
  unchecked_ = n;
  struct statvfs fs {};
  if (::fstatvfs(fd, &fs) != 0 || fs.f_blocks == 0) return;  // no figures: ENOSPC tells
  const std::uint64_t total = std::uint64_t{fs.f_blocks} * fs.f_frsize;
  const std::uint64_t left = std::uint64_t{fs.f_bavail} * fs.f_frsize;
  const std::uint64_t margin = std::clamp<std::uint64_t>(total / 20, 16 * mib, 1024 * mib);
  // Room for what is written until the next look, and the margin after it.
  if (left >= margin + check_every + n) return;
  throw error("stopped before the disk of " + folder_ + " is full: the " + what_ + " there had " +
                  std::to_string(size / mib) + " MiB, with " + std::to_string(left / mib) +
                  " MiB of " + std::to_string(total / mib) +
                  " MiB left (hint: set TMPDIR to a folder on a disk with more room)",
              exit_build_failed, std::error_code(ENOSPC, std::generic_category()));
}

content_spool::content_spool()
    : file_(std::make_shared<file>(file{temporary_file(),
                                        0,
                                        temp_folder(),
                                        {temp_folder(), "temporary copy of the image's files"}})) {}

std::shared_ptr<const file_content> content_spool::add(archive_reader& from, archive_entry* entry,
                                                       std::string what) {
  const std::uint64_t start = file_->end;
  // An uncompressed archive's bytes are read from it when the image is
  // written, not copied first: the bench's 200 MB rootfs tarball is read in
  // 40 ms instead of 111, with no temporary copy.
  const auto located = from.locate_data(entry, [&](std::span<const unsigned char> bytes) {
    file_->room.before_write(file_->fd.get(), file_->end, bytes.size());
    while (!bytes.empty()) {
      ssize_t n =
          ::pwrite(file_->fd.get(), bytes.data(), bytes.size(), static_cast<off_t>(file_->end));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) no_space(file_->folder, errno);
      bytes = bytes.subspan(static_cast<std::size_t>(n));
      file_->end += static_cast<std::uint64_t>(n);
    }
  });
  if (located)
    return std::make_shared<range_content>(
        range_content::source{located->file, located->file->get(), "read",
                              from.name() + " was cut short while the image was written"},
        located->offset, located->size, std::move(what));
  return std::make_shared<range_content>(
      range_content::source{file_, file_->fd.get(), "read the temporary copy of",
                            "its temporary copy in " + file_->folder + " was cut short"},
      start, file_->end - start, std::move(what));
}

}  // namespace elements::builder
