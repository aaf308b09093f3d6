#include <elf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "elements/error.hpp"
#include "elements/payload.hpp"

namespace elements::payload {
namespace {

// Every way the ELF part can be wrong has the same fix.
error damaged(std::string_view name, std::string_view what) {
  return error(std::string(name) + ": " + std::string(what) +
               " (hint: the file is damaged or truncated; download or build it again)");
}

void read_exact(int fd, void* buf, std::size_t size, std::uint64_t offset, std::string_view name,
                std::string_view what) {
  auto* p = static_cast<char*>(buf);
  while (size > 0) {
    ssize_t n = ::pread(fd, p, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("read", name);
    }
    if (n == 0)
      throw damaged(name, "truncated file: its " + std::string(what) + " lies past the end");
    p += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
}

}  // namespace

elf_extent read_elf_extent(int fd, std::string_view name) {
  struct stat st {};
  check(::fstat(fd, &st), "stat", name);
  const auto file_size = static_cast<std::uint64_t>(st.st_size);

  Elf64_Ehdr eh{};
  if (file_size < sizeof eh) throw damaged(name, "not an ELF file: too short for an ELF header");
  read_exact(fd, &eh, sizeof eh, 0, name, "ELF header");
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) throw damaged(name, "not an ELF file");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
    throw damaged(name, "not a 64-bit little-endian ELF file");
  if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0)
    throw damaged(name, "ELF file without a usable section header table");

  elf_extent ext;
  ext.appimage_magic = std::memcmp(eh.e_ident + 8, appimage_magic, sizeof appimage_magic) == 0;

  const std::uint64_t table_size = std::uint64_t{eh.e_shnum} * eh.e_shentsize;
  if (eh.e_shoff > file_size || table_size > file_size - eh.e_shoff)
    throw damaged(name,
                  "corrupt ELF file: its section header table points past the end of the file");
  std::vector<Elf64_Shdr> sh(eh.e_shnum);
  read_exact(fd, sh.data(), table_size, eh.e_shoff, name, "section header table");
  ext.end = eh.e_shoff + table_size;

  for (const auto& s : sh) {
    if (s.sh_type == SHT_NOBITS) continue;
    if (s.sh_offset > file_size || s.sh_size > file_size - s.sh_offset)
      throw damaged(name, "corrupt ELF file: a section points past the end of the file");
    ext.end = std::max(ext.end, s.sh_offset + s.sh_size);
  }

  // Section names, for the AppImage sections. A SHT_NOBITS table has no
  // bytes in the file (its size was not checked above): no names then.
  if (eh.e_shstrndx < sh.size() && sh[eh.e_shstrndx].sh_type != SHT_NOBITS) {
    const auto& strtab = sh[eh.e_shstrndx];
    std::vector<char> names(strtab.sh_size + 1, '\0');
    read_exact(fd, names.data(), strtab.sh_size, strtab.sh_offset, name, "section names");
    for (const auto& s : sh) {
      if (s.sh_name >= strtab.sh_size) continue;
      std::string_view sn(names.data() + s.sh_name);
      section sec{s.sh_offset, s.sh_size};
      if (sn == upd_info_section)
        ext.upd_info = sec;
      else if (sn == sig_section)
        ext.sha256_sig = sec;
      else if (sn == key_section)
        ext.sig_key = sec;
    }
  }
  return ext;
}

bool has_squashfs_at(int fd, std::uint64_t offset) {
  unsigned char magic[4];
  ssize_t n = ::pread(fd, magic, sizeof magic, static_cast<off_t>(offset));
  return n == sizeof magic && std::memcmp(magic, squashfs_magic, sizeof magic) == 0;
}

}  // namespace elements::payload
