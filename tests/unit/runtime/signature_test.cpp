// The pieces of AppImage signatures that need no gpg: what the digest
// covers, reading armor back, and clearing a stale signature.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "../builder/test_support.hpp"
#include "builder/publish/assemble.hpp"
#include "builder/publish/runtime_blob.hpp"
#include "builder/publish/sign.hpp"
#include "elements/payload.hpp"
#include "elements/unique_fd.hpp"
#include "runtime/image/signature_check.hpp"

using namespace elements;
using namespace elements::builder;
using namespace builder_test;

namespace {

std::string signed_bytes(int fd, const payload::elf_extent& ext) {
  std::string seen;
  payload::read_signed_bytes(fd, ext, "file", [&](const unsigned char* data, std::size_t size) {
    seen.append(reinterpret_cast<const char*>(data), size);
  });
  return seen;
}

}  // namespace

TEST_CASE("a signature covers the whole file with its two sections as zeros", "[unit]") {
  temp_dir dir;
  // Sections that straddle the 64 KiB read chunks: zeroed on both sides.
  std::string content(200000, 'x');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + i % 26);
  write_file(dir / "file", content);
  unique_fd fd(::open((dir / "file").c_str(), O_RDONLY | O_CLOEXEC));
  payload::elf_extent ext;
  ext.sha256_sig = payload::section{65530, 1024};
  ext.sig_key = payload::section{131000, 8192};

  const std::string seen = signed_bytes(fd.get(), ext);
  REQUIRE(seen.size() == content.size());
  std::string expected = content;
  std::memset(expected.data() + 65530, 0, 1024);
  std::memset(expected.data() + 131000, 0, 8192);
  CHECK(seen == expected);

  payload::elf_extent no_key = ext;
  no_key.sig_key.reset();
  CHECK_THROWS_WITH(signed_bytes(fd.get(), no_key),
                    Catch::StartsWith("file: no .sha256_sig or .sig_key section"));
}

TEST_CASE("the signed digest is the lowercase SHA-256 hex of those bytes", "[unit]") {
  temp_dir dir;
  write_file(dir / "file", std::string(4096, 'a'));
  unique_fd fd(::open((dir / "file").c_str(), O_RDONLY | O_CLOEXEC));
  payload::elf_extent ext;
  ext.sha256_sig = payload::section{0, 1024};
  ext.sig_key = payload::section{1024, 1024};
  // sha256sum of 2048 zero bytes followed by 2048 'a'
  write_file(dir / "expected", std::string(2048, '\0') + std::string(2048, 'a'));
  const auto sum = run("sha256sum " + quote(dir / "expected") + " | cut -c1-64");
  REQUIRE(sum.status == 0);
  CHECK(signed_digest(fd.get(), ext, "file") + "\n" == sum.output);
}

TEST_CASE("armored OpenPGP blocks read back as their packets", "[unit]") {
  using elements::runtime::dearmor;
  // "hello" is aGVsbG8=; headers end at the first empty line; the checksum
  // line and the END line close the data.
  CHECK(dearmor("-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: x\n\naGVs\nbG8=\n=abcd\n"
                "-----END PGP PUBLIC KEY BLOCK-----\n") == std::string("hello"));
  CHECK(dearmor("-----BEGIN PGP PUBLIC KEY BLOCK-----\r\n\r\naGVsbA==\r\n-----END PGP") ==
        std::string("hell"));
  CHECK(dearmor("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\naGVsbG8h\n-----END") ==
        std::string("hello!"));
  CHECK_FALSE(dearmor(""));
  CHECK_FALSE(dearmor("aGVsbG8="));  // no armor
  CHECK_FALSE(dearmor("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\na*b\n"));
  CHECK_FALSE(dearmor("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END"));
}

TEST_CASE("a runtime cut from a signed file carries no signature", "[unit]") {
  temp_dir dir;
  auto rt = load_runtime(embedded_runtime(), "the embedded runtime");
  REQUIRE(rt.extent.sha256_sig);
  REQUIRE(rt.extent.sig_key);
  std::memset(rt.bytes.data() + rt.extent.sha256_sig->offset, 's', 10);
  std::memset(rt.bytes.data() + rt.extent.sig_key->offset, 'k', 10);
  assembly how;
  how.output = dir / "out.AppImage";
  bool sealed = false;
  how.seal = [&](int fd) {
    // The whole file, before it has its name.
    sealed = true;
    CHECK(payload::has_squashfs_at(fd, rt.extent.end));
    CHECK_FALSE(fs::exists(dir / "out.AppImage"));
  };
  assemble(rt, make_dir(0755, {}), how);
  CHECK(sealed);
  const auto bytes = read_file(dir / "out.AppImage");
  CHECK(bytes.substr(rt.extent.sha256_sig->offset, 10) == std::string(10, '\0'));
  CHECK(bytes.substr(rt.extent.sig_key->offset, 10) == std::string(10, '\0'));
}
