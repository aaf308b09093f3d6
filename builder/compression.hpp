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

// zstd decompresses at the same speed whatever the level, so the level only
// trades build time for size: 15 (libsquashfs' own default) gets within about
// 1% of 19 at 128 KiB blocks in a fraction of the time.
inline constexpr unsigned default_zstd_level = 15;

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
