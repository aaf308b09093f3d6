// SHA-256 digests as image descriptors write them: "sha256:" and 64
// lowercase hex digits. Hashing is nettle's; only the spelling is ours.
#pragma once

#include <nettle/sha2.h>

#include <span>
#include <string>
#include <string_view>

namespace elements::builder {

class sha256_hasher {
 public:
  sha256_hasher();
  void update(std::span<const unsigned char> bytes);
  // "sha256:<hex>"; the hasher starts over afterwards.
  std::string digest();

 private:
  sha256_ctx ctx_;
};

// True for "sha256:" followed by exactly 64 lowercase hex digits. Image
// descriptors name blob files with this, so nothing else may reach a path.
bool is_sha256_digest(std::string_view text);

// "sha256:" and the first 12 hex digits, as image tools show a digest.
std::string short_digest(std::string_view digest);

// The digest of everything `fd` holds, read from offset 0 with pread.
std::string sha256_of_fd(int fd, std::string_view name);

}  // namespace elements::builder
