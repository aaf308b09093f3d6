#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "builder/definition/definition.hpp"
#include "builder/publish/assemble.hpp"
#include "builder/publish/output_file.hpp"
#include "builder/publish/runtime_blob.hpp"
#include "builder/squashfs/payload_layout.hpp"
#include "elements/error.hpp"
#include "elements/payload.hpp"
#include "elements/unique_fd.hpp"
#include "test_support.hpp"

using namespace elements;
using namespace elements::builder;
using namespace builder_test;

namespace {

node_ptr sample_payload(const runtime_image& rt, const made_attrs& made) {
  auto def = parse_definition(
      R"({"name": "hello", "from": "scratch", "run": {"command": ["/bin/sh"]}})", "element.json");
  auto rootfs = make_dir(0755, made);
  rootfs->entries["hello.txt"] = make_file(0644, memory_file("hello\n", "hello.txt"), made);
  add_mount_points(rootfs, def.run, made);
  return make_payload_tree(def, memory_file(rt.bytes, "AppRun"), rootfs, made);
}

assembly how_to(const fs::path& output) {
  assembly how;
  how.output = output;
  how.squashfs.mkfs_time = 1700000000;
  how.squashfs.clamp_mtime = 1700000000;
  return how;
}

bool lexists(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE("the embedded runtime is an AppImage type 2 runtime", "[unit]") {
  const auto rt = load_runtime(embedded_runtime(), "the embedded runtime");
  CHECK(rt.extent.appimage_magic);
  CHECK(rt.bytes.size() == rt.extent.end);
  CHECK(rt.extent.upd_info);
  CHECK_THROWS_WITH(load_runtime_file("/nonexistent/runtime"),
                    Catch::StartsWith("--runtime: cannot read"));
  try {
    load_runtime_file("/bin/true");
    FAIL("a plain ELF was taken for a runtime");
  } catch (const error& e) {
    CHECK(e.status() == exit_usage);
    CHECK(std::string(e.what()) ==
          "/bin/true: not an AppImage type 2 runtime (no 'AI' 0x02 at e_ident[8..10])");
  }
}

TEST_CASE("the file is the runtime, its update information and the payload", "[unit]") {
  temp_dir dir;
  const auto rt = load_runtime(embedded_runtime(), "the embedded runtime");
  const made_attrs made{0, 0, 1700000000};
  auto how = how_to(dir / "hello.AppImage");
  how.update_information = "zsync|https://example.org/hello.zsync";
  assemble(rt, sample_payload(rt, made), how);

  const auto file = dir / "hello.AppImage";
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0755);
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) ==
        1);  // no temp left

  const auto bytes = read_file(file);
  const auto offset = rt.extent.end;
  unique_fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  CHECK(payload::read_elf_extent(fd.get(), file.native()).end == offset);
  CHECK(payload::has_squashfs_at(fd.get(), offset));
  const auto& upd = *rt.extent.upd_info;
  CHECK(std::string(bytes.data() + upd.offset) == how.update_information);
  CHECK(bytes.substr(upd.offset + how.update_information.size(),
                     upd.size - how.update_information.size()) ==
        std::string(upd.size - how.update_information.size(), '\0'));
  // Apart from .upd_info, the head of the file is the runtime as it was.
  CHECK(std::memcmp(bytes.data(), rt.bytes.data(), upd.offset) == 0);

  if (!have_unsquashfs()) {
    WARN("SKIPPED payload listing: unsquashfs (squashfs-tools) is not installed");
    return;
  }
  auto list = run("unsquashfs -o " + std::to_string(offset) + " -lln " + quote(file));
  REQUIRE(list.status == 0);
  for (const char* path : {"squashfs-root/AppRun", "squashfs-root/hello.desktop",
                           "squashfs-root/hello.png", "squashfs-root/.DirIcon -> hello.png",
                           "squashfs-root/.elements/spec.json", "squashfs-root/rootfs/hello.txt",
                           "squashfs-root/rootfs/proc", "squashfs-root/rootfs/etc/resolv.conf"}) {
    INFO(path);
    CHECK(list.output.find(path) != std::string::npos);
  }
  write_file(dir / "apprun.expected", std::string(rt.bytes.begin(), rt.bytes.end()));
  CHECK(run("unsquashfs -o " + std::to_string(offset) + " -cat " + quote(file) +
            " AppRun | cmp - " + quote(dir / "apprun.expected"))
            .status == 0);
}

TEST_CASE("the same inputs and epoch give a byte-identical file", "[unit]") {
  temp_dir dir;
  const auto rt = load_runtime(embedded_runtime(), "the embedded runtime");
  const made_attrs made{0, 0, 1700000000};
  assemble(rt, sample_payload(rt, made), how_to(dir / "one.AppImage"));
  assemble(rt, sample_payload(rt, made), how_to(dir / "two.AppImage"));
  const auto one = read_file(dir / "one.AppImage");
  CHECK(one.size() > rt.bytes.size());
  CHECK(one == read_file(dir / "two.AppImage"));
}

TEST_CASE("a failed build leaves nothing behind", "[unit]") {
  temp_dir dir;
  const auto rt = load_runtime(embedded_runtime(), "the embedded runtime");
  write_file(dir / "vanishing", "here when read, gone when written");
  auto payload = make_dir(0755, {});
  payload->entries["f"] = make_file(0644, host_file(dir / "vanishing"), {});
  fs::remove(dir / "vanishing");
  try {
    assemble(rt, payload, how_to(dir / "out.AppImage"));
    FAIL("the build went on without its file");
  } catch (const error& e) {
    CHECK(std::string(e.what()).find((dir / "vanishing").native()) != std::string::npos);
    CHECK(e.status() != exit_usage);
  }
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 0);

  auto how = how_to(dir / "out.AppImage");
  how.update_information = std::string(rt.extent.upd_info->size + 1, 'u');
  CHECK_THROWS_WITH(assemble(rt, payload, how), Catch::Contains("holds at most 1024"));
  CHECK_FALSE(lexists(dir / "out.AppImage"));
  how.update_information.pop_back();  // exactly the section's size: no NUL, as appimagetool
  CHECK_NOTHROW(assemble(rt, sample_payload(rt, {}), how));
  CHECK(lexists(dir / "out.AppImage"));
  CHECK_THROWS_WITH(
      assemble(rt, payload, how_to(dir / "no/such/folder/out.AppImage")),
      Catch::StartsWith("cannot create " + (dir / "no/such/folder/out.AppImage").native()));
}

TEST_CASE("an AppImage given as the runtime loses its old payload", "[unit]") {
  temp_dir dir;
  const auto rt = load_runtime(embedded_runtime(), "the embedded runtime");
  assemble(rt, sample_payload(rt, {}), how_to(dir / "old.AppImage"));
  const auto again = load_runtime_file(dir / "old.AppImage");
  CHECK(again.bytes == rt.bytes);
}

TEST_CASE("the output has no name until it is whole", "[unit]") {
  temp_dir dir;
  const auto entries = [&] {
    return std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator());
  };
  {
    output_file out(dir / "x.AppImage");
    CHECK(out.temp_path().empty());
    REQUIRE(::write(out.fd(), "x", 1) == 1);
    CHECK(entries() == 0);
  }
  CHECK(entries() == 0);
  {
    output_file out(dir / "x.AppImage");
    REQUIRE(::write(out.fd(), "x", 1) == 1);
    out.commit();
  }
  CHECK(read_file(dir / "x.AppImage") == "x");
  struct stat st {};
  REQUIRE(::stat((dir / "x.AppImage").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0755);
  // An existing output is replaced whole, through a temp name that goes.
  {
    output_file out(dir / "x.AppImage");
    REQUIRE(::write(out.fd(), "yy", 2) == 2);
    CHECK(read_file(dir / "x.AppImage") == "x");
    out.commit();
  }
  CHECK(read_file(dir / "x.AppImage") == "yy");
  CHECK(entries() == 1);
}

TEST_CASE("a named temp file is locked and goes away unless committed", "[unit]") {
  temp_dir dir;
  fs::path temp;
  {
    output_file out(dir / "x.AppImage", output_file::how::named);
    temp = out.temp_path();
    CHECK(temp == (dir / ("x.AppImage.tmp." + std::to_string(::getpid()))));
    CHECK(lexists(temp));
    // Locked while its writer lives: the next build leaves it alone.
    remove_stale_temp_files(dir / "x.AppImage");
    CHECK(lexists(temp));
  }
  CHECK_FALSE(lexists(temp));
  CHECK_FALSE(lexists(dir / "x.AppImage"));
  {
    output_file out(dir / "x.AppImage", output_file::how::named);
    REQUIRE(::write(out.fd(), "x", 1) == 1);
    out.commit();
  }
  CHECK(read_file(dir / "x.AppImage") == "x");
  CHECK_FALSE(lexists(temp));
  // One whose writer is gone (no lock) is removed; other names stay.
  write_file(dir / "x.AppImage.tmp.12", "left by a killed build");
  write_file(dir / "x.AppImage.tmp.12a", "not a temp file");
  remove_stale_temp_files(dir / "x.AppImage");
  CHECK_FALSE(lexists(dir / "x.AppImage.tmp.12"));
  CHECK(lexists(dir / "x.AppImage.tmp.12a"));
  CHECK(lexists(dir / "x.AppImage"));
}

TEST_CASE("a full disk is reported with the output and where to make room", "[unit]") {
  const auto e = output_write_error("out/x.AppImage", ENOSPC);
  CHECK(std::string(e.what()) ==
        "cannot write out/x.AppImage: No space left on device (hint: free some space in out or "
        "write elsewhere with -o)");
  CHECK(e.status() == exit_build_failed);
  CHECK(e.code() == std::error_code(ENOSPC, std::generic_category()));
  CHECK(std::string(output_write_error("x.AppImage", EDQUOT).what()) ==
        "cannot write x.AppImage: Disk quota exceeded (hint: free some space in the current "
        "folder or write elsewhere with -o)");
  CHECK(std::string(output_write_error("x.AppImage", EIO).what()) ==
        "cannot write x.AppImage: Input/output error");
}
