// SHA-256 (FIPS 180-4), for naming the extract cache by payload content.
// A few hundred bytes of code where a crypto library would cost tens of KiB
// of the runtime's size budget. Internal to runtime/.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace elements::runtime {

class sha256 {
 public:
  sha256();
  void update(const void* data, std::size_t size);
  std::array<std::uint8_t, 32> digest();  // once, at the end
  static std::string hex(const std::array<std::uint8_t, 32>& digest);

 private:
  void compress(const std::uint8_t* block);

  std::uint32_t state_[8];
  std::uint8_t buffer_[64];
  std::size_t buffered_ = 0;
  std::uint64_t length_ = 0;
};

}  // namespace elements::runtime
