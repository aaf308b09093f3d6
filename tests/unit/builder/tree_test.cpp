#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>

#include "builder/definition/definition.hpp"
#include "builder/squashfs/payload_layout.hpp"
#include "builder/steps/build_steps.hpp"
#include "builder/tree.hpp"
#include "elements/error.hpp"
#include "test_support.hpp"

using namespace elements;
using namespace elements::builder;
using namespace builder_test;

namespace {

node_ptr entry(const node_ptr& root, const std::string& path) {
  auto at = locate(root, path);
  return at ? at->entry : nullptr;
}

std::string contents(const node_ptr& n) {
  std::string out;
  n->content->read([&](std::span<const unsigned char> b) { out.append(b.begin(), b.end()); });
  return out;
}

copy_step step(const fs::path& source, const std::string& target) {
  copy_step s;
  s.pointer = "/build/0";
  s.source_text = source.filename().native();
  s.source = source;
  s.target = target;
  return s;
}

definition sample_definition(const std::string& run) {
  return parse_definition(R"({"name": "web", "from": "scratch", "run": )" + run + "}",
                          "element.json");
}

}  // namespace

TEST_CASE("paths follow symlinks inside the tree and never leave it", "[unit]") {
  const made_attrs made{};
  auto root = make_dir(0755, made);
  auto usr = make_dir(0755, made);
  auto usr_bin = make_dir(0755, made);
  usr_bin->entries["sh"] = make_file(0755, memory_file("sh", "sh"), made);
  usr->entries["bin"] = usr_bin;
  root->entries["usr"] = usr;
  root->entries["bin"] = make_symlink("usr/bin", made);
  root->entries["abs"] = make_symlink("/usr", made);
  root->entries["up"] = make_symlink("../../../usr", made);
  root->entries["loop"] = make_symlink("loop", made);

  CHECK(entry(root, "/bin/sh") == usr_bin->entries["sh"]);
  CHECK(entry(root, "/abs/bin/sh") == usr_bin->entries["sh"]);
  CHECK(entry(root, "/up/bin/sh") == usr_bin->entries["sh"]);
  CHECK(entry(root, "/../../usr/./bin/../bin/sh") == usr_bin->entries["sh"]);
  CHECK(S_ISLNK(entry(root, "/bin")->mode));  // the last component is not followed
  CHECK(entry(root, "/") == root);
  CHECK(entry(root, "/missing/x") == nullptr);
  CHECK_FALSE(locate(root, "/bin/sh/x"));
  CHECK_THROWS_WITH(locate(root, "/loop/x"), Catch::Contains("too many levels of symbolic links"));

  auto made_at = locate_or_make_parents(root, "/bin/new/deep/file", made);
  CHECK(made_at.name == "file");
  CHECK(entry(root, "/usr/bin/new/deep") == made_at.parent);
  CHECK_THROWS_WITH(locate_or_make_parents(root, "/bin/sh/x", made),
                    Catch::Contains("sh is not a directory"));
}

TEST_CASE("copy steps land like a Dockerfile COPY", "[unit]") {
  temp_dir dir;
  write_file(dir / "site.conf", "conf", 0600);
  write_file(dir / "tree/a", "a");
  write_file(dir / "tree/sub/b", "b", 0755);
  const made_attrs made{0, 0, 42};
  auto root = make_dir(0755, made);
  auto etc = make_dir(0750, made);
  root->entries["etc"] = etc;
  root->entries["cfg"] = make_symlink("etc", made);

  apply_copy(root, step(dir / "site.conf", "/etc/site.conf"), made);
  auto conf = entry(root, "/etc/site.conf");
  REQUIRE(conf);
  CHECK(contents(conf) == "conf");
  CHECK((conf->mode & 07777) == 0600);
  CHECK(conf->uid == 0);

  apply_copy(root, step(dir / "site.conf", "/cfg"), made);  // into a folder, through a symlink
  CHECK(entry(root, "/etc/site.conf"));
  apply_copy(root, step(dir / "site.conf", "/opt/app/"), made);  // trailing slash: into
  CHECK(entry(root, "/opt/app/site.conf"));
  CHECK(entry(root, "/opt")->mtime == 42);
  apply_copy(root, step(dir / "site.conf", "/opt/renamed"), made);
  CHECK(entry(root, "/opt/renamed")->is_dir() == false);

  auto s = step(dir / "tree", "/etc");
  s.owner = {{1000, 1000}};
  s.mode = 0640;
  apply_copy(root, s, made);  // a folder merges into the target
  CHECK(entry(root, "/etc/site.conf"));
  CHECK(entry(root, "/etc/a"));
  CHECK((entry(root, "/etc")->mode & 07777) == 0750);  // existing folders keep theirs
  auto b = entry(root, "/etc/sub/b");
  REQUIRE(b);
  CHECK(b->uid == 1000);
  CHECK((b->mode & 07777) == 0640);
  CHECK(S_ISREG(b->mode));

  apply_copy(root, step(dir / "tree", "/srv"), made);  // a new folder takes the source's
  CHECK(entry(root, "/srv/sub/b"));
}

TEST_CASE("mount points are made only where missing", "[unit]") {
  const made_attrs made{0, 0, 7};
  auto root = make_dir(0755, made);
  auto usr_etc = make_dir(0700, made);
  auto usr = make_dir(0755, made);
  usr->entries["etc"] = usr_etc;
  root->entries["usr"] = usr;
  root->entries["etc"] = make_symlink("usr/etc", made);
  root->entries["sys"] = make_file(0644, memory_file("", "x"), made);
  auto spec = sample_definition(R"({"command": ["x"], "args": [
      {"name": "data", "bind": "/data/in"}, {"name": "out", "output": true}],
      "binds": [{"source": "/a", "target": "/opt/conf"}, {"source": "/b", "target": "/home/${USER}"}]})")
                  .run;

  auto warnings = add_mount_points(root, spec, made);
  CHECK(warnings.empty());
  CHECK(S_ISLNK(entry(root, "/etc")->mode));
  CHECK(entry(root, "/usr/etc/resolv.conf"));
  CHECK(entry(root, "/usr/etc/hosts"));
  CHECK(S_ISREG(entry(root, "/sys")->mode));
  for (const char* d : {"/proc", "/dev", "/tmp", "/out"}) {
    INFO(d);
    auto n = entry(root, d);
    REQUIRE(n);
    CHECK(n->is_dir());
    CHECK(n->uid == 0);
    CHECK(n->mtime == 7);
  }
  CHECK((entry(root, "/tmp")->mode & 07777) == 01777);
  // Bind targets are the runtime's: only it knows whether a source is a file.
  CHECK_FALSE(entry(root, "/data"));
  CHECK_FALSE(entry(root, "/opt"));
  CHECK_FALSE(entry(root, "/home"));

  auto no_output = sample_definition(R"({"command": ["x"]})").run;
  auto bare = make_dir(0755, made);
  bare->entries["etc"] = make_file(0644, memory_file("", "x"), made);
  auto refused = add_mount_points(bare, no_output, made);
  CHECK_FALSE(entry(bare, "/out"));
  REQUIRE(refused.size() == 2);
  CHECK(refused[0].find("/etc/resolv.conf") != std::string::npos);
}

TEST_CASE("the payload holds AppRun, the desktop entry, the icon, the spec and the rootfs",
          "[unit]") {
  auto def = sample_definition(R"({"command": ["/bin/sh"], "description": "Says hi\nand more"})");
  def.desktop.categories = {"Network"};
  const made_attrs made{0, 0, 9};
  auto rootfs = make_dir(0755, made);
  auto payload = make_payload_tree(def, memory_file("ELF", "AppRun"), rootfs, made);

  CHECK(entry(payload, "/rootfs") == rootfs);
  auto apprun = entry(payload, "/AppRun");
  REQUIRE(apprun);
  CHECK((apprun->mode & 07777) == 0755);
  CHECK(contents(apprun) == "ELF");
  CHECK(entry(payload, "/.DirIcon")->link_target == "web.png");
  CHECK(contents(entry(payload, "/web.png")).starts_with("\x89PNG\r\n\x1a\n"));
  CHECK(contents(entry(payload, "/.elements/spec.json")) == to_json(def.run).dump());
  CHECK(contents(entry(payload, "/web.desktop")) ==
        "[Desktop Entry]\nType=Application\nName=web\nComment=Says hi\nExec=AppRun\nIcon=web\n"
        "Terminal=true\nCategories=Network;\n");

  def.desktop.terminal = false;
  def.desktop.categories.clear();
  def.run.description.clear();
  CHECK(desktop_entry(def) ==
        "[Desktop Entry]\nType=Application\nName=web\nExec=AppRun\nIcon=web\nTerminal=false\n"
        "Categories=Utility;\n");
}
