// SHA-256 of the payload, naming the extract cache by content: nettle's,
// behind the small interface the cache uses. Internal to runtime/.
#pragma once

#include <nettle/sha2.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace elements::runtime {

class sha256 {
 public:
  sha256() { sha256_init(&ctx_); }
  void update(const void* data, std::size_t size) {
    sha256_update(&ctx_, size, static_cast<const std::uint8_t*>(data));
  }
  std::array<std::uint8_t, 32> digest() {  // once, at the end
    std::array<std::uint8_t, 32> out{};
    sha256_digest(&ctx_, out.size(), out.data());
    return out;
  }
  static std::string hex(const std::array<std::uint8_t, 32>& digest);

 private:
  sha256_ctx ctx_;
};

}  // namespace elements::runtime
