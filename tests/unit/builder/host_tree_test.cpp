#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "../child_process.hpp"
#include "builder/sources/host_tree.hpp"
#include "builder/squashfs/squashfs_writer.hpp"
#include "builder/steps/step_cache.hpp"
#include "elements/error.hpp"
#include "elements/unique_fd.hpp"
#include "test_support.hpp"

using namespace elements;
using namespace elements::builder;
using namespace builder_test;

namespace {

// Many folders at several depths, so that several threads share the work,
// with hard links between far-apart folders and symlinks.
void make_wide_tree(const fs::path& r) {
  for (int a = 0; a < 12; ++a) {
    for (int b = 0; b < 8; ++b) {
      const fs::path d = r / ("a" + std::to_string(a)) / ("b" + std::to_string(b));
      for (int c = 0; c < 3; ++c)
        write_file(d / ("c" + std::to_string(c)) / "f",
                   "file " + std::to_string(a) + "/" + std::to_string(b) + "/" + std::to_string(c),
                   c == 0 ? 0755 : 0644);
      REQUIRE(::symlink("../b0", (d / "up").c_str()) == 0);
    }
  }
  write_file(r / "a0/b0/c0/linked", "one inode, three names");
  REQUIRE(::link((r / "a0/b0/c0/linked").c_str(), (r / "a11/b7/c2/linked").c_str()) == 0);
  REQUIRE(::link((r / "a0/b0/c0/linked").c_str(), (r / "a5/b3/linked").c_str()) == 0);
}

node_ptr at(const node_ptr& root, const std::string& path) {
  auto where = locate(root, path);
  REQUIRE(where);
  REQUIRE(where->entry);
  return where->entry;
}

std::string packed(const temp_dir& dir, const node_ptr& root, const std::string& name) {
  const auto image = dir / name;
  unique_fd fd(::open(image.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  REQUIRE(fd);
  squashfs_options options;
  options.workers = 2;
  write_squashfs(fd.get(), 0, root, options);
  return read_file(image);
}

// Runs `read` in a child process as the unprivileged id 65534 (when the
// test runs as root) and returns what it threw, "" when it did not throw.
std::string message_as_nobody(const fs::path& tree, unsigned threads) {
  const auto child = test_child::run([&](int out) {
    if (::geteuid() == 0 &&
        (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
         ::setresuid(65534, 65534, 65534) != 0))
      return 3;
    try {
      host_read_options options;
      options.threads = threads;
      read_host_tree(tree, options);
    } catch (const error& e) {
      test_child::put(out, e.what());
    }
    return 0;
  });
  REQUIRE(child.status == 0);
  return child.output;
}

// An access ACL (the kernel's xattr format) that gives the owner rw, the
// user 65534 nothing and everyone else r: the mode bits alone say 0644.
std::string acl_denying_nobody() {
  std::string acl;
  auto put = [&](std::uint32_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) acl.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  put(2, 4);  // version
  const std::uint32_t undefined = 0xFFFFFFFF;
  struct entry {
    std::uint16_t tag, perm;
    std::uint32_t id;
  };
  for (const entry e : {entry{0x01, 6, undefined}, entry{0x02, 0, 65534}, entry{0x04, 4, undefined},
                        entry{0x10, 4, undefined}, entry{0x20, 4, undefined}}) {
    put(e.tag, 2);
    put(e.perm, 2);
    put(e.id, 4);
  }
  return acl;
}

// Makes listxattrat (Linux 6.13) fail with ENOSYS in this process, as on
// older kernels. Only for a child process: it cannot be undone.
bool deny_listxattrat() {
#if defined(__x86_64__)
  constexpr std::uint32_t arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
  constexpr std::uint32_t arch = AUDIT_ARCH_AARCH64;
#else
  return false;
#endif
  sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 465 /* listxattrat */, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(std::size(code)), code};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

}  // namespace

TEST_CASE("xattrs are read on kernels without listxattrat too", "[unit]") {
  temp_dir dir;
  write_file(dir / "root/etc/tagged", "x");
  fs::create_directories(dir / "root/var/tagged-dir");
  if (::setxattr((dir / "root/etc/tagged").c_str(), "user.note", "file", 4, 0) != 0 ||
      ::setxattr((dir / "root/var/tagged-dir").c_str(), "user.note", "dir", 3, 0) != 0) {
    WARN("SKIPPED: the temp folder's filesystem refuses user.* xattrs");
    return;
  }
  const node_ptr with = read_host_tree(dir / "root", {});
  CHECK(at(with, "/etc/tagged")->xattrs ==
        std::map<std::string, std::string>{{"user.note", "file"}});
  CHECK(at(with, "/var/tagged-dir")->xattrs ==
        std::map<std::string, std::string>{{"user.note", "dir"}});

  // The same read in a child process where the kernel call is refused.
  const auto child = test_child::run([&](int out) {
    if (!deny_listxattrat()) return 3;
    try {
      host_read_options options;
      options.threads = 4;
      test_child::put(out, tree_digest(read_host_tree(dir / "root", options)));
    } catch (const std::exception& e) {
      test_child::put(out, std::string("threw: ") + e.what());
    }
    return 0;
  });
  REQUIRE(child.status >= 0);
  if (child.status == 3) {
    WARN("SKIPPED the fallback: no seccomp filter for this architecture or kernel");
    return;
  }
  CHECK(child.output == tree_digest(with));
}

TEST_CASE("a host tree reads the same with one thread or many", "[unit]") {
  temp_dir dir;
  make_wide_tree(dir / "root");
  host_read_options one;
  one.threads = 1;
  host_read_options many;
  many.threads = 6;
  const node_ptr a = read_host_tree(dir / "root", one);
  const node_ptr b = read_host_tree(dir / "root", many);
  CHECK(tree_digest(a) == tree_digest(b));
  CHECK(packed(dir, a, "a.sqfs") == packed(dir, b, "b.sqfs"));

  // Three names, one inode, whichever thread met which name first.
  CHECK(at(b, "/a0/b0/c0/linked") == at(b, "/a11/b7/c2/linked"));
  CHECK(at(b, "/a0/b0/c0/linked") == at(b, "/a5/b3/linked"));
  CHECK(at(b, "/a7/b2/up")->link_target == "../b0");
  CHECK((at(b, "/a3/b4/c0/f")->mode & 07777) == 0755);
  std::string bytes;
  at(b, "/a9/b6/c1/f")->content->read([&](std::span<const unsigned char> s) {
    bytes.append(s.begin(), s.end());
  });
  CHECK(bytes == "file 9/6/1");
  CHECK(at(b, "/a9/b6/c1/f")->content->size_hint() == bytes.size());

  // A file, read alone.
  const node_ptr file = read_host_tree(dir / "root/a1/b1/c1/f", many);
  CHECK(S_ISREG(file->mode));
}

TEST_CASE("a file or folder the caller cannot read fails the read, whatever thread meets it",
          "[unit]") {
  if (::geteuid() != 0) {
    WARN("SKIPPED: needs root to read as another user");
    return;
  }
  temp_dir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
  const fs::path root = dir / "root";
  make_wide_tree(root);
  CHECK(message_as_nobody(root, 4).empty());

  SECTION("a file the mode bits keep from others") {
    write_file(root / "a8/b5/c2/secret", "root's", 0600);
    for (unsigned threads : {1u, 4u})
      CHECK_THAT(message_as_nobody(root, threads),
                 Catch::StartsWith("cannot read " + (root / "a8/b5/c2/secret").native() +
                                   ": Permission denied"));
  }
  SECTION("a file whose ACL denies what its mode bits allow") {
    write_file(root / "a2/b6/c0/denied", "not for nobody", 0644);
    const std::string acl = acl_denying_nobody();
    if (::setxattr((root / "a2/b6/c0/denied").c_str(), "system.posix_acl_access", acl.data(),
                   acl.size(), 0) != 0) {
      WARN("SKIPPED: the temp folder's filesystem takes no ACLs: " << std::strerror(errno));
      return;
    }
    CHECK_THAT(message_as_nobody(root, 4),
               Catch::StartsWith("cannot read " + (root / "a2/b6/c0/denied").native() +
                                 ": Permission denied"));
  }
  SECTION("a folder deep in the tree") {
    REQUIRE(::chmod((root / "a10/b1").c_str(), 0700) == 0);
    CHECK_THAT(message_as_nobody(root, 4),
               Catch::StartsWith("cannot read the folder " + (root / "a10/b1").native()));
  }
}
