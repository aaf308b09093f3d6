// The compressors elements-pack offers, and the libsquashfs compressor for each.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <sqfs/compressor.h>

namespace elements::builder {

enum class compressor { zstd, xz, gzip, lz4 };

// The level trades build time and size against start-up: from 13 on, zstd
// picks strategies (btlazy2 and up) whose output also decompresses more
// slowly. Measured on the busybox example, 9 decompresses 13% faster than 15
// and packs 9 times as fast, for a payload 7% larger; on a 120 MB tree of
// /usr, 8% faster, 4.6 times as fast to pack, 1.5% larger. (lz4: 15-46%
// larger; a third faster for busybox, no faster on the tree.)
inline constexpr unsigned default_zstd_level = 9;

struct compression {
  compressor kind = compressor::zstd;
  std::optional<unsigned> level = default_zstd_level;  // unset: the compressor's default

  std::string to_string() const;  // "zstd:15", "xz", ...
};

// Parses "zstd[:LEVEL]", "xz[:LEVEL]", "gzip[:LEVEL]" or "lz4"; throws usage_error.
compression parse_compression(std::string_view text);

SQFS_COMPRESSOR compressor_id(compressor c);

struct sqfs_compressor_deleter {
  void operator()(sqfs_compressor_t* c) const;
};
using compressor_ptr = std::unique_ptr<sqfs_compressor_t, sqfs_compressor_deleter>;

// A compressor (or, with `uncompress`, a decompressor) for `block_size` blocks.
// Throws elements::error when libsquashfs cannot make it.
compressor_ptr make_compressor(const compression& c, std::uint32_t block_size, bool uncompress);

}  // namespace elements::builder
