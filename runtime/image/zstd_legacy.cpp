// libzstd decodes frames of its pre-1.0 formats (v0.5 to v0.7) too: its
// decompressor calls these decoders when a frame's magic number says so.
// Squashfs images are never written in them, so the runtime defines the
// entry points itself, as refusals, and the linker leaves the legacy
// decoders (some 80 KiB of old parsing code) out of the static runtime. A
// block that claims to be such a frame is a read error, as any damaged one.
// Linked into the runtime executable only, ahead of libzstd.
#include <cstddef>

namespace {

constexpr std::size_t refused = static_cast<std::size_t>(-1);  // ZSTD_isError() is true
constexpr unsigned long long content_size_error = 0ULL - 2;    // ZSTD_CONTENTSIZE_ERROR

std::size_t refuse() {
  return refused;
}

void refuse_frame(std::size_t* compressed_size, unsigned long long* decompressed_bound) {
  *compressed_size = refused;
  *decompressed_bound = content_size_error;
}

}  // namespace

#define ELEMENTS_ZSTD_LEGACY(V)                                                                   \
  void* ZSTD##V##_createDCtx() {                                                                  \
    return nullptr;                                                                               \
  }                                                                                               \
  std::size_t ZSTD##V##_freeDCtx(void*) {                                                         \
    return 0;                                                                                     \
  }                                                                                               \
  std::size_t ZSTD##V##_decompress_usingDict(void*, void*, std::size_t, const void*, std::size_t, \
                                             const void*, std::size_t) {                          \
    return refuse();                                                                              \
  }                                                                                               \
  std::size_t ZSTD##V##_getFrameParams(void*, const void*, std::size_t) {                         \
    return refuse();                                                                              \
  }                                                                                               \
  void ZSTD##V##_findFrameSizeInfoLegacy(const void*, std::size_t, std::size_t* c,                \
                                         unsigned long long* d) {                                 \
    refuse_frame(c, d);                                                                           \
  }                                                                                               \
  void* ZBUFF##V##_createDCtx() {                                                                 \
    return nullptr;                                                                               \
  }                                                                                               \
  std::size_t ZBUFF##V##_freeDCtx(void*) {                                                        \
    return 0;                                                                                     \
  }                                                                                               \
  std::size_t ZBUFF##V##_decompressInitDictionary(void*, const void*, std::size_t) {              \
    return refuse();                                                                              \
  }                                                                                               \
  std::size_t ZBUFF##V##_decompressContinue(void*, void*, std::size_t*, const void*,              \
                                            std::size_t*) {                                       \
    return refuse();                                                                              \
  }

extern "C" {
ELEMENTS_ZSTD_LEGACY(v05)
ELEMENTS_ZSTD_LEGACY(v06)
ELEMENTS_ZSTD_LEGACY(v07)
}
