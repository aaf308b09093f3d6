#include "builder/squashfs/compression.hpp"

#include <algorithm>

#include <sqfs/error.h>

#include "elements/error.hpp"

namespace elements::builder {
namespace {

// libsquashfs' lz4 hands back output larger than its input (5 bytes for the
// 4-byte id table of a one-owner image). The kernel reads that; unsquashfs
// calls it corruption. Every compressor is wrapped so that output no smaller
// than the input reports 0, which libsquashfs stores uncompressed.
struct shrink_only {
  sqfs_compressor_t base{};
  sqfs_compressor_t* inner = nullptr;

  explicit shrink_only(sqfs_compressor_t* compressor) : inner(compressor) {
    base.base.destroy = [](sqfs_object_t* o) {
      auto* self = reinterpret_cast<shrink_only*>(o);
      sqfs_destroy(self->inner);
      delete self;
    };
    // Each worker thread of the block processor compresses with its own copy.
    base.base.copy = [](const sqfs_object_t* o) -> sqfs_object_t* {
      auto* inner_copy = static_cast<sqfs_compressor_t*>(
          sqfs_copy(reinterpret_cast<const shrink_only*>(o)->inner));
      if (!inner_copy) return nullptr;
      return &(new shrink_only(inner_copy))->base.base;
    };
    base.get_configuration = [](const sqfs_compressor_t* c, sqfs_compressor_config_t* cfg) {
      auto* in = reinterpret_cast<const shrink_only*>(c)->inner;
      in->get_configuration(in, cfg);
    };
    base.write_options = [](sqfs_compressor_t* c, sqfs_file_t* f) {
      auto* in = reinterpret_cast<shrink_only*>(c)->inner;
      return in->write_options(in, f);
    };
    base.read_options = [](sqfs_compressor_t* c, sqfs_file_t* f) {
      auto* in = reinterpret_cast<shrink_only*>(c)->inner;
      return in->read_options(in, f);
    };
    base.do_block = [](sqfs_compressor_t* c, const sqfs_u8* in, sqfs_u32 size, sqfs_u8* out,
                       sqfs_u32 outsize) -> sqfs_s32 {
      auto* wrapped = reinterpret_cast<shrink_only*>(c)->inner;
      const sqfs_s32 n = wrapped->do_block(wrapped, in, size, out, outsize);
      return n > 0 && static_cast<sqfs_u32>(n) >= size ? 0 : n;
    };
  }
};

// One row per compressor: its name for --compression and in messages, its
// libsquashfs id and the levels it takes (max 0: none).
struct choice {
  std::string_view name;
  compressor kind;
  SQFS_COMPRESSOR id;
  unsigned min, max;
};
constexpr choice choices[] = {
    {"zstd", compressor::zstd, SQFS_COMP_ZSTD, SQFS_ZSTD_MIN_LEVEL, SQFS_ZSTD_MAX_LEVEL},
    {"xz", compressor::xz, SQFS_COMP_XZ, SQFS_XZ_MIN_LEVEL, SQFS_XZ_MAX_LEVEL},
    {"gzip", compressor::gzip, SQFS_COMP_GZIP, SQFS_GZIP_MIN_LEVEL, SQFS_GZIP_MAX_LEVEL},
    {"lz4", compressor::lz4, SQFS_COMP_LZ4, 0, 0},
};

const choice& choice_of(compressor kind) {
  for (const auto& c : choices)
    if (c.kind == kind) return c;
  return choices[0];
}

}  // namespace

void sqfs_compressor_deleter::operator()(sqfs_compressor_t* c) const {
  sqfs_destroy(c);
}

std::string compression::to_string() const {
  std::string name(choice_of(kind).name);
  if (level) name += ":" + std::to_string(*level);
  return name;
}

compression parse_compression(std::string_view text) {
  const auto colon = text.find(':');
  const std::string_view name = text.substr(0, colon);
  for (const auto& c : choices) {
    if (name != c.name) continue;
    compression out{c.kind, std::nullopt};
    if (c.kind == compressor::zstd) out.level = default_zstd_level;
    if (colon == std::string_view::npos) return out;
    const std::string_view level = text.substr(colon + 1);
    const std::string what = "--compression: the " + std::string(c.name) + " level must be ";
    const std::string range = "from " + std::to_string(c.min) + " to " + std::to_string(c.max);
    if (c.max == 0) throw usage_error("--compression: " + std::string(c.name) + " takes no level");
    if (level.empty() || level.size() > 2 ||
        !std::all_of(level.begin(), level.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      throw usage_error(what + "a number " + range);
    const unsigned v = static_cast<unsigned>(std::stoul(std::string(level)));
    if (v < c.min || v > c.max) throw usage_error(what + range);
    out.level = v;
    return out;
  }
  throw usage_error("--compression: unknown compressor \"" + std::string(text) +
                    "\" (expected zstd[:LEVEL], xz[:LEVEL], gzip[:LEVEL] or lz4)");
}

SQFS_COMPRESSOR compressor_id(compressor c) {
  return choice_of(c).id;
}

compressor_ptr make_compressor(const compression& c, std::uint32_t block_size, bool uncompress) {
  sqfs_compressor_config_t cfg{};
  const auto id = compressor_id(c.kind);
  const auto fail = [&](int rc) {
    throw error("cannot use " + c.to_string() + " compression: " +
                    (rc == SQFS_ERROR_UNSUPPORTED ? "this libsquashfs was built without it"
                                                  : "libsquashfs refused its settings"),
                exit_build_failed);
  };
  if (int rc = sqfs_compressor_config_init(&cfg, id, block_size,
                                           uncompress ? SQFS_COMP_FLAG_UNCOMPRESS : 0))
    fail(rc);
  if (c.level) cfg.level = *c.level;
  sqfs_compressor_t* made = nullptr;
  if (int rc = sqfs_compressor_create(&cfg, &made)) fail(rc);
  compressor_ptr inner(made);
  if (uncompress) return inner;
  auto* wrapper = new shrink_only(inner.get());
  inner.release();
  return compressor_ptr(&wrapper->base);
}

}  // namespace elements::builder
