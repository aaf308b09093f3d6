#include "builder/sources/archive_reader.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "elements/error.hpp"

namespace elements::builder {

archive_reader::archive_reader(int fd, std::string name, format f, bool hash, bool hash_tar)
    : a_(archive_read_new(), archive_read_free),
      raw_(nullptr, archive_read_free),
      fd_(fd),
      name_(std::move(name)),
      hash_(hash),
      buf_(1 << 20) {
  if (!a_) throw error(name_ + ": out of memory", exit_build_failed);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw_errno("stat", name_);
  file_size_ = static_cast<std::uint64_t>(st.st_size);
  archive_read_support_format_empty(a_.get());
  if (f == format::raw) {
    archive_read_support_filter_all(a_.get());
    archive_read_support_format_raw(a_.get());
  } else if (!hash_tar) {
    archive_read_support_filter_all(a_.get());
    archive_read_support_format_tar(a_.get());
  } else {
    // Two readers: raw_ decompresses the file, a_ parses the tar that comes
    // out, and tar_callback hashes it on the way.
    raw_.reset(archive_read_new());
    if (!raw_) throw error(name_ + ": out of memory", exit_build_failed);
    archive_read_support_filter_all(raw_.get());
    archive_read_support_format_raw(raw_.get());
    archive_read_support_format_empty(raw_.get());
    open(raw_.get(), read_callback);
    archive_entry* e = nullptr;
    const int rc = archive_read_next_header(raw_.get(), &e);
    if (rc < ARCHIVE_WARN) fail("cannot decompress it", raw_.get());
    raw_at_end_ = rc == ARCHIVE_EOF;
    tar_.resize(1 << 20);
    archive_read_support_format_tar(a_.get());
  }
  open(a_.get(), raw_ ? tar_callback : read_callback);
}

archive_reader::~archive_reader() = default;

void archive_reader::fail(const std::string& what, struct archive* a) const {
  const char* why = archive_error_string(a ? a : a_.get());
  throw error(name_ + ": " + what + ": " + (why ? why : "damaged archive"), exit_build_failed);
}

void archive_reader::open(struct archive* a,
                          ssize_t (*read)(struct archive*, void*, const void**)) {
  archive_read_set_read_callback(a, read);
  // Skipping past bytes would leave them out of the digest.
  if (!hash_ && !raw_) archive_read_set_skip_callback(a, skip_callback);
  archive_read_set_callback_data(a, this);
  if (archive_read_open1(a) != ARCHIVE_OK) {
    const char* why = archive_error_string(a);
    throw error(name_ + ": " + (why ? why : "unreadable"), exit_build_failed);
  }
}

ssize_t archive_reader::read_callback(struct archive* a, void* p, const void** buffer) {
  auto* self = static_cast<archive_reader*>(p);
  for (;;) {
    ssize_t n =
        ::pread(self->fd_, self->buf_.data(), self->buf_.size(), static_cast<off_t>(self->at_));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      archive_set_error(a, errno, "read error");
      return -1;
    }
    self->buf_at_ = self->at_;
    self->buf_len_ = static_cast<std::size_t>(n);
    self->at_ += static_cast<std::uint64_t>(n);
    if (self->hash_) self->hasher_.update({self->buf_.data(), static_cast<std::size_t>(n)});
    *buffer = self->buf_.data();
    return n;
  }
}

ssize_t archive_reader::tar_callback(struct archive* a, void* p, const void** buffer) {
  auto* self = static_cast<archive_reader*>(p);
  if (self->raw_at_end_) return 0;
  la_ssize_t n = archive_read_data(self->raw_.get(), self->tar_.data(), self->tar_.size());
  if (n < 0) {
    const char* why = archive_error_string(self->raw_.get());
    archive_set_error(a, archive_errno(self->raw_.get()), "cannot decompress it: %s",
                      why ? why : "damaged data");
    return -1;
  }
  if (n == 0) self->raw_at_end_ = true;
  self->tar_hasher_.update({self->tar_.data(), static_cast<std::size_t>(n)});
  *buffer = self->tar_.data();
  return n;
}

std::int64_t archive_reader::skip_callback(struct archive*, void* p, std::int64_t request) {
  auto* self = static_cast<archive_reader*>(p);
  const std::uint64_t left = self->file_size_ > self->at_ ? self->file_size_ - self->at_ : 0;
  const auto n =
      std::min<std::uint64_t>(left, static_cast<std::uint64_t>(std::max<std::int64_t>(request, 0)));
  self->at_ += n;
  return static_cast<std::int64_t>(n);
}

archive_entry* archive_reader::next() {
  archive_entry* e = nullptr;
  int rc = archive_read_next_header(a_.get(), &e);
  if (rc == ARCHIVE_EOF) return nullptr;
  // ARCHIVE_WARN: a name that does not convert to the locale, and the like;
  // the entry itself is whole.
  if (rc < ARCHIVE_WARN) fail("cannot read the next entry");
  return e;
}

void archive_reader::read_data(const std::function<void(std::span<const unsigned char>)>& out) {
  // One buffer for all entries: a layer may hold a hundred thousand files.
  if (chunk_.empty()) chunk_.resize(1 << 20);
  for (;;) {
    la_ssize_t n = archive_read_data(a_.get(), chunk_.data(), chunk_.size());
    if (n < 0) fail("cannot read the data of an entry");
    if (n == 0) return;
    out({chunk_.data(), static_cast<std::size_t>(n)});
  }
}

std::optional<archive_reader::extent> archive_reader::locate_data(
    archive_entry* entry, const std::function<void(std::span<const unsigned char>)>& out) {
  // Only bytes stored as they are, which libarchive skips with skip_callback
  // instead of reading (a hashed archive is read whole).
  const bool plain = !hash_ && !raw_ && archive_filter_code(a_.get(), 0) == ARCHIVE_FILTER_NONE &&
                     archive_entry_size_is_set(entry) && archive_entry_sparse_count(entry) == 0;
  if (!plain) {
    read_data(out);
    return std::nullopt;
  }
  const void* block = nullptr;
  std::size_t len = 0;
  la_int64_t offset = 0;
  const int rc = archive_read_data_block(a_.get(), &block, &len, &offset);
  if (rc == ARCHIVE_EOF) return std::nullopt;  // no bytes
  if (rc < ARCHIVE_WARN) fail("cannot read the data of an entry");
  const auto* p = static_cast<const unsigned char*>(block);
  const auto size = static_cast<std::uint64_t>(archive_entry_size(entry));
  if (offset == 0 && p >= buf_.data() && p + len <= buf_.data() + buf_len_) {
    const std::uint64_t at = buf_at_ + static_cast<std::uint64_t>(p - buf_.data());
    // Skipped with skip_callback; a file too short for the entry fails here.
    if (archive_read_data_skip(a_.get()) != ARCHIVE_OK) fail("cannot read the data of an entry");
    if (at + size > file_size_)
      throw error(name_ + ": an entry's data runs past the end of the file; the archive is cut",
                  exit_build_failed);
    if (!shared_fd_) {
      auto copy = std::make_shared<unique_fd>(::fcntl(fd_, F_DUPFD_CLOEXEC, 0));
      if (!*copy) throw_errno("keep open", name_);
      shared_fd_ = std::move(copy);
    }
    return extent{shared_fd_, at, size};
  }
  // In libarchive's own buffer: copied, like any other.
  if (offset != 0) fail("cannot read the data of an entry");
  out({p, len});
  read_data(out);
  return std::nullopt;
}

archive_reader::digest_result archive_reader::finish() {
  digest_result out;
  if (raw_) {
    // The tar's end-of-archive marker may be followed by padding, which the
    // diff_id covers too.
    const void* ignored = nullptr;
    ssize_t n = 0;
    while (!raw_at_end_ && (n = tar_callback(a_.get(), this, &ignored)) > 0) {
    }
    if (n >= 0) out.tar_digest = tar_hasher_.digest();
  }
  const void* ignored = nullptr;
  for (;;) {
    ssize_t n = read_callback(a_.get(), this, &ignored);
    if (n < 0) throw_errno("read", name_);
    if (n == 0) break;
  }
  out.digest = hasher_.digest();
  out.size = at_;
  return out;
}

}  // namespace elements::builder
