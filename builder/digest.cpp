#include "builder/digest.hpp"

#include <unistd.h>

#include <vector>

#include "elements/error.hpp"

namespace elements::builder {

sha256_hasher::sha256_hasher() {
  sha256_init(&ctx_);
}

void sha256_hasher::update(std::span<const unsigned char> bytes) {
  sha256_update(&ctx_, bytes.size(), bytes.data());
}

std::string sha256_hasher::digest() {
  unsigned char raw[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx_, sizeof raw, raw);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned char b : raw) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

bool is_sha256_digest(std::string_view text) {
  constexpr std::string_view prefix = "sha256:";
  if (!text.starts_with(prefix) || text.size() != prefix.size() + 64) return false;
  for (char c : text.substr(prefix.size()))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string short_digest(std::string_view digest) {
  return std::string(digest.substr(0, std::string_view("sha256:").size() + 12));
}

std::string sha256_of_fd(int fd, std::string_view name) {
  sha256_hasher h;
  std::vector<unsigned char> buf(1 << 20);
  off_t at = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read", name);
    if (n == 0) break;
    h.update({buf.data(), static_cast<std::size_t>(n)});
    at += n;
  }
  return h.digest();
}

}  // namespace elements::builder
