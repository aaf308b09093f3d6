#include "elements/block_digests.hpp"

#include <algorithm>
#include <cstring>

namespace elements::payload::digests {
namespace {

constexpr unsigned char magic[16] = {'e', 'l', 'e', 'm', 'e', 'n', 't', 's',
                                     '-', 'd', 'i', 'g', 'e', 's', 't', 's'};
constexpr std::size_t at_magic = 0, at_format = 16, at_block_size = 20, at_data_blocks = 24,
                      at_root = 32, header_size = at_root + digest_size;
constexpr std::uint64_t format = 1;

void put(unsigned char* at, std::uint64_t v, std::size_t width) {
  for (std::size_t i = 0; i < width; ++i) at[i] = static_cast<unsigned char>(v >> (8 * i));
}
std::uint64_t get(const unsigned char* at, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t i = width; i-- > 0;) v = (v << 8) | at[i];
  return v;
}

}  // namespace

std::uint64_t data_blocks_of(std::uint64_t image_bytes) {
  return std::max<std::uint64_t>(1, (image_bytes + block_size - 1) / block_size);
}

tree_layout layout_for(std::uint64_t data_blocks) {
  tree_layout t;
  t.data_blocks = std::max<std::uint64_t>(1, data_blocks);
  // Counted bottom up, placed top down.
  for (std::uint64_t below = t.data_blocks;;) {
    const std::uint64_t count = (below + per_block - 1) / per_block;
    t.levels.push_back({0, count});
    if (count == 1) break;
    below = count;
  }
  std::uint64_t at = t.data_blocks;
  for (auto level = t.levels.rbegin(); level != t.levels.rend(); ++level) {
    level->first = at;
    at += level->count;
  }
  t.header = at;
  return t;
}

std::array<unsigned char, block_size> encode_header(const header& h) {
  std::array<unsigned char, block_size> b{};
  std::memcpy(&b[at_magic], magic, sizeof magic);
  put(&b[at_format], format, 4);
  put(&b[at_block_size], block_size, 4);
  put(&b[at_data_blocks], h.data_blocks, 8);
  std::copy(h.root.begin(), h.root.end(), &b[at_root]);
  return b;
}

std::optional<header> decode_header(std::span<const unsigned char, block_size> b) {
  if (std::memcmp(&b[at_magic], magic, sizeof magic) != 0 || get(&b[at_format], 4) != format ||
      get(&b[at_block_size], 4) != block_size ||
      std::any_of(&b[header_size], b.data() + block_size, [](unsigned char c) { return c != 0; }))
    return std::nullopt;
  header h;
  h.data_blocks = get(&b[at_data_blocks], 8);
  std::copy_n(&b[at_root], digest_size, h.root.begin());
  if (h.data_blocks == 0 || h.data_blocks > (std::uint64_t{1} << 48)) return std::nullopt;
  return h;
}

}  // namespace elements::payload::digests
