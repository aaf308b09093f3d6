#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "elements/error.hpp"
#include "elements/payload.hpp"
#include "elements/unique_fd.hpp"

using namespace elements;

namespace {

std::vector<char> slurp(const char* path) {
  std::vector<char> data;
  unique_fd fd(::open(path, O_RDONLY | O_CLOEXEC));
  REQUIRE(fd);
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) data.insert(data.end(), buf, buf + n);
  return data;
}

// A temporary file holding `data`, removed at scope end.
struct temp_file {
  std::string path;
  unique_fd fd;
  explicit temp_file(const std::vector<char>& data) {
    char tmpl[] = "/tmp/elements-elf-XXXXXX";
    fd.reset(::mkstemp(tmpl));
    REQUIRE(fd);
    path = tmpl;
    REQUIRE(::write(fd.get(), data.data(), data.size()) == static_cast<ssize_t>(data.size()));
  }
  ~temp_file() { ::unlink(path.c_str()); }
};

}  // namespace

TEST_CASE("the ELF extent is where the section table or the last section ends", "[unit]") {
  auto data = slurp("/bin/true");
  Elf64_Ehdr eh;
  std::memcpy(&eh, data.data(), sizeof eh);
  std::uint64_t expected = eh.e_shoff + std::uint64_t{eh.e_shnum} * eh.e_shentsize;
  for (unsigned i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr sh;
    std::memcpy(&sh, data.data() + eh.e_shoff + i * sizeof sh, sizeof sh);
    if (sh.sh_type != SHT_NOBITS)
      expected = std::max<std::uint64_t>(expected, sh.sh_offset + sh.sh_size);
  }
  temp_file f(data);
  auto ext = payload::read_elf_extent(f.fd.get(), f.path);
  CHECK(ext.end == expected);
  CHECK(ext.end == data.size());  // nothing appended to /bin/true
  CHECK_FALSE(ext.appimage_magic);
  CHECK_FALSE(payload::has_squashfs_at(f.fd.get(), ext.end));

  SECTION("a payload appended after it is found") {
    std::vector<char> with = data;
    for (char c : {'h', 's', 'q', 's'}) with.push_back(c);
    with[8] = 'A';
    with[9] = 'I';
    with[10] = 2;
    temp_file g(with);
    auto e2 = payload::read_elf_extent(g.fd.get(), g.path);
    CHECK(e2.end == expected);
    CHECK(e2.appimage_magic);
    CHECK(payload::has_squashfs_at(g.fd.get(), e2.end));
  }
}

TEST_CASE("a truncated or corrupt ELF file is a clear error, not a crash", "[unit]") {
  auto data = slurp("/bin/true");

  SECTION("not an ELF file") {
    temp_file f(std::vector<char>(100, 'x'));
    CHECK_THROWS_WITH(payload::read_elf_extent(f.fd.get(), "app"),
                      Catch::Contains("not an ELF file"));
  }
  SECTION("shorter than a header") {
    temp_file f(std::vector<char>(data.begin(), data.begin() + 20));
    CHECK_THROWS_AS(payload::read_elf_extent(f.fd.get(), "app"), error);
  }
  SECTION("section table past the end") {
    temp_file f(std::vector<char>(data.begin(), data.begin() + static_cast<long>(data.size() / 2)));
    CHECK_THROWS_WITH(payload::read_elf_extent(f.fd.get(), "app"), Catch::Contains("past the end"));
    CHECK_THROWS_WITH(payload::read_elf_extent(f.fd.get(), "app"),
                      Catch::Contains("(hint: the file is damaged or truncated"));
  }
  SECTION("section offset past the end") {
    std::vector<char> bad = data;
    Elf64_Ehdr eh;
    std::memcpy(&eh, bad.data(), sizeof eh);
    Elf64_Shdr sh;
    unsigned i = 1;
    for (; i < eh.e_shnum; ++i) {
      std::memcpy(&sh, bad.data() + eh.e_shoff + i * sizeof sh, sizeof sh);
      if (sh.sh_type != SHT_NOBITS) break;
    }
    sh.sh_offset = 1ull << 40;
    std::memcpy(bad.data() + eh.e_shoff + i * sizeof sh, &sh, sizeof sh);
    temp_file f(bad);
    CHECK_THROWS_WITH(payload::read_elf_extent(f.fd.get(), "app"), Catch::Contains("past the end"));
  }
  SECTION("section names in a table without bytes in the file") {
    // Its size was never checked against the file: reading 1 TiB of names
    // crashed the runtime (found by elements-fuzz-elf).
    std::vector<char> bad = data;
    Elf64_Ehdr eh;
    std::memcpy(&eh, bad.data(), sizeof eh);
    Elf64_Shdr names;
    char* at = bad.data() + eh.e_shoff + eh.e_shstrndx * sizeof names;
    std::memcpy(&names, at, sizeof names);
    names.sh_type = SHT_NOBITS;
    names.sh_size = 1ull << 40;
    std::memcpy(at, &names, sizeof names);
    temp_file f(bad);
    const auto ext = payload::read_elf_extent(f.fd.get(), "app");
    CHECK(ext.end <= bad.size());
    CHECK_FALSE(ext.upd_info);
  }
}
