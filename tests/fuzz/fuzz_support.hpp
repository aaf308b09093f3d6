// What the libFuzzer targets share: the input as a file descriptor, for the
// readers that take one, and the check that turns a broken promise into a
// crash libFuzzer records.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "elements/error.hpp"
#include "elements/unique_fd.hpp"

namespace elements::fuzz {

// The input in an anonymous memory file, read from offset 0.
inline unique_fd memory_fd(const std::uint8_t* data, std::size_t size) {
  unique_fd fd(::memfd_create("elements-fuzz", MFD_CLOEXEC));
  if (!fd) std::abort();
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd.get(), data + done, size - done);
    if (n <= 0) std::abort();
    done += static_cast<std::size_t>(n);
  }
  return fd;
}

// A property of the code under test that must hold for every input.
inline void require(bool ok, std::string_view what) {
  if (ok) return;
  std::fprintf(stderr, "broken property: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

// Refusals must carry the exit status their interface documents.
inline void require_status(const error& e, int status) {
  if (e.status() == status) return;
  std::fprintf(stderr, "refused with exit status %d, documented %d: %s\n", e.status(), status,
               e.what());
  std::abort();
}

}  // namespace elements::fuzz
