#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "elements/error.hpp"
#include "elements/payload.hpp"

namespace elements::payload {

void read_signed_bytes(int fd, const elf_extent& ext, std::string_view name,
                       const std::function<void(const unsigned char*, std::size_t)>& sink) {
  if (!ext.sha256_sig || !ext.sig_key)
    throw error(std::string(name) +
                ": no .sha256_sig or .sig_key section (hint: pack the file with elements-pack)");
  struct stat st {};
  check(::fstat(fd, &st), "stat", name);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const section zeroed[] = {*ext.sha256_sig, *ext.sig_key};

  std::vector<unsigned char> buf(1 << 16);
  for (std::uint64_t at = 0; at < size;) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - at));
    ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read", name);
    if (n == 0) throw error(std::string(name) + ": the file shrank while it was read");
    const auto got = static_cast<std::uint64_t>(n);
    // Zero whatever part of a section falls into [at, at + got).
    for (const auto& s : zeroed) {
      const std::uint64_t from = std::max(at, s.offset);
      const std::uint64_t to = std::min(at + got, s.offset + s.size);
      if (from < to)
        std::fill(buf.begin() + static_cast<std::ptrdiff_t>(from - at),
                  buf.begin() + static_cast<std::ptrdiff_t>(to - at), 0);
    }
    sink(buf.data(), static_cast<std::size_t>(got));
    at += got;
  }
}

}  // namespace elements::payload
