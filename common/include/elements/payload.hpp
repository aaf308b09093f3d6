// The layout of an elements file (DESIGN.md section 1).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace elements::payload {

// Paths inside the squashfs payload.
inline constexpr std::string_view spec_path = ".elements/spec.json";
inline constexpr std::string_view rootfs_dir = "rootfs";
inline constexpr std::string_view apprun = "AppRun";

// Sections of the runtime ELF, their sizes, and the AppImage type 2 magic.
inline constexpr std::string_view upd_info_section = ".upd_info";
inline constexpr std::string_view sig_section = ".sha256_sig";
inline constexpr std::string_view key_section = ".sig_key";
inline constexpr std::size_t upd_info_size = 1024;
inline constexpr std::size_t sig_size = 1024;
inline constexpr std::size_t key_size = 8192;
inline constexpr unsigned char appimage_magic[3] = {'A', 'I', 0x02};
inline constexpr unsigned char squashfs_magic[4] = {'h', 's', 'q', 's'};

struct section {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
};

// What the ELF header and section table of a file say.
struct elf_extent {
  std::uint64_t end = 0;  // payload offset: the end of the ELF as the AppImage runtime computes it
  bool appimage_magic = false;
  std::optional<section> upd_info, sha256_sig, sig_key;
};

// Reads the ELF extent of an open file (64-bit little-endian ELF only).
// Throws elements::error naming `name` when the file is not such an ELF or its
// header or section table is truncated or points past the end of the file.
elf_extent read_elf_extent(int fd, std::string_view name);

// True when the four bytes at `offset` of fd are the squashfs magic.
bool has_squashfs_at(int fd, std::uint64_t offset);

// What an AppImage signature covers: every byte of the file, with the
// .sha256_sig and .sig_key sections read as zeros (AppImage's appimagetool
// and AppImageUpdate sign and check the SHA-256 hex digest of exactly this).
// Calls `sink` with consecutive chunks from offset 0 to the end of the file.
// Throws elements::error naming `name` when a section is missing or a read fails.
void read_signed_bytes(int fd, const elf_extent& ext, std::string_view name,
                       const std::function<void(const unsigned char*, std::size_t)>& sink);

}  // namespace elements::payload
