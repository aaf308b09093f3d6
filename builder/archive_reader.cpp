#include "archive_reader.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "elements/error.hpp"

namespace elements::builder {

archive_reader::archive_reader(int fd, std::string name, format f, bool hash)
    : a_(archive_read_new()), fd_(fd), name_(std::move(name)), hash_(hash), buf_(1 << 20) {
  if (!a_) throw error(name_ + ": out of memory", exit_build_failed);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    archive_read_free(a_);
    throw_errno("stat", name_);
  }
  file_size_ = static_cast<std::uint64_t>(st.st_size);
  archive_read_support_filter_all(a_);
  if (f == format::tar) {
    archive_read_support_format_tar(a_);
    archive_read_support_format_empty(a_);
  } else {
    archive_read_support_format_raw(a_);
    archive_read_support_format_empty(a_);
  }
  archive_read_set_read_callback(a_, read_callback);
  // Skipping past bytes would leave them out of the digest.
  if (!hash_) archive_read_set_skip_callback(a_, skip_callback);
  archive_read_set_callback_data(a_, this);
  if (archive_read_open1(a_) != ARCHIVE_OK) {
    const std::string why = archive_error_string(a_) ? archive_error_string(a_) : "unreadable";
    archive_read_free(a_);
    throw error(name_ + ": " + why, exit_build_failed);
  }
}

archive_reader::~archive_reader() {
  archive_read_free(a_);
}

void archive_reader::fail(const std::string& what) const {
  const char* why = archive_error_string(a_);
  throw error(name_ + ": " + what + ": " + (why ? why : "damaged archive"), exit_build_failed);
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
    self->at_ += static_cast<std::uint64_t>(n);
    if (self->hash_) self->hasher_.update({self->buf_.data(), static_cast<std::size_t>(n)});
    *buffer = self->buf_.data();
    return n;
  }
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
  int rc = archive_read_next_header(a_, &e);
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
    la_ssize_t n = archive_read_data(a_, chunk_.data(), chunk_.size());
    if (n < 0) fail("cannot read the data of an entry");
    if (n == 0) return;
    out({chunk_.data(), static_cast<std::size_t>(n)});
  }
}

archive_reader::digest_result archive_reader::finish() {
  const void* ignored = nullptr;
  for (;;) {
    ssize_t n = read_callback(a_, this, &ignored);
    if (n < 0) throw_errno("read", name_);
    if (n == 0) break;
  }
  return {hasher_.digest(), at_};
}

}  // namespace elements::builder
