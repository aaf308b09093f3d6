// The container's mounts as a list (runtime/mount/mount_plan.cpp): their order
// and what each carries, for the built-in runtime and the OCI writer alike.
#include "runtime/mount/mount_plan.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "builder/squashfs/payload_layout.hpp"
#include "builder/tree.hpp"

using namespace elements;
using namespace elements::runtime;

namespace {

plan sample_plan() {
  plan p;
  p.argv = {"/bin/sh"};
  p.binds = {{"/home/u/site", "/srv", true}, {"/home/u/notes.txt", "/etc/notes", false}};
  return p;
}

mount_facts unprivileged() {
  mount_facts f;
  f.bind_is_dir = {true, false};
  f.resolv_conf = f.hosts = true;
  return f;
}

std::size_t first(const std::vector<mount_op>& ops, mount_kind kind) {
  auto it = std::find_if(ops.begin(), ops.end(), [&](const mount_op& o) { return o.kind == kind; });
  REQUIRE(it != ops.end());
  return static_cast<std::size_t>(it - ops.begin());
}

std::size_t count(const std::vector<mount_op>& ops, mount_kind kind) {
  return static_cast<std::size_t>(
      std::count_if(ops.begin(), ops.end(), [&](const mount_op& o) { return o.kind == kind; }));
}

const mount_op& at(const std::vector<mount_op>& ops, const std::string& target) {
  auto it = std::find_if(ops.begin(), ops.end(), [&](const mount_op& o) {
    return o.target == target && o.kind != mount_kind::make_target;
  });
  REQUIRE(it != ops.end());
  return *it;
}

}  // namespace

TEST_CASE("mount plan: the root first, then /proc, /dev, /tmp, /sys, files, binds, pivot last",
          "[unit]") {
  plan p = sample_plan();
  p.resolv_conf = true;
  p.output = "/home/u/result";
  const auto ops = plan_mounts(p, unprivileged());
  CHECK(ops.front().kind == mount_kind::bind_image);
  CHECK(ops.front().source == std::string(payload_dir) + "/rootfs");
  CHECK(ops.front().target == newroot_dir);
  CHECK(ops.back().kind == mount_kind::pivot);
  CHECK(count(ops, mount_kind::pivot) == 1);

  CHECK(first(ops, mount_kind::remount_root_ro) < first(ops, mount_kind::proc));
  CHECK(first(ops, mount_kind::proc) < first(ops, mount_kind::dev_tmpfs));
  CHECK(first(ops, mount_kind::dev_tmpfs) < first(ops, mount_kind::dev_node));
  CHECK(first(ops, mount_kind::dev_node) < first(ops, mount_kind::devpts));
  CHECK(first(ops, mount_kind::devpts) < first(ops, mount_kind::shm));
  CHECK(first(ops, mount_kind::shm) < first(ops, mount_kind::dev_symlink));
  CHECK(first(ops, mount_kind::dev_symlink) < first(ops, mount_kind::tmp));
  CHECK(first(ops, mount_kind::tmp) < first(ops, mount_kind::sys_bind));
  CHECK(first(ops, mount_kind::sys_bind) < first(ops, mount_kind::host_file));
  CHECK(first(ops, mount_kind::host_file) < first(ops, mount_kind::out));
  CHECK(first(ops, mount_kind::out) < first(ops, mount_kind::user_bind));

  // The binds follow /out in the plan's order, each naming its source.
  const std::size_t b = first(ops, mount_kind::user_bind);
  REQUIRE(b + 2 < ops.size());
  CHECK(ops[b].target == "/srv");
  CHECK(ops[b].index == 0);
  CHECK(ops[b].read_only);
  CHECK(ops[b + 1].target == "/etc/notes");
  CHECK(ops[b + 1].source == "/home/u/notes.txt");
  CHECK(ops[b + 1].index == 1);
  CHECK_FALSE(ops[b + 1].read_only);
  CHECK(ops[b + 2].kind == mount_kind::pivot);

  CHECK(at(ops, "/out").source == out_dir);
  CHECK(at(ops, "/etc/resolv.conf").index == 0);
  CHECK(at(ops, "/etc/hosts").index == 1);
  CHECK_FALSE(at(ops, "/etc/hosts").recursive);
  CHECK(at(ops, "/etc/hosts").read_only);
}

TEST_CASE("mount plan: /dev holds its nodes, devpts, shm and links", "[unit]") {
  const auto ops = plan_mounts(sample_plan(), unprivileged());
  CHECK(count(ops, mount_kind::dev_node) == 6);
  CHECK(at(ops, "/dev/null").source == "/dev/null");
  CHECK_FALSE(at(ops, "/dev/tty").recursive);
  CHECK(at(ops, "/dev").options == "mode=755,size=1m");
  CHECK(at(ops, "/dev").flags == (MS_NOSUID | MS_STRICTATIME));
  CHECK(at(ops, "/dev/ptmx").source == "pts/ptmx");
  CHECK(at(ops, "/dev/stderr").source == "/proc/self/fd/2");
  CHECK(at(ops, "/dev/shm").mode == 01777);
  CHECK(at(ops, "/proc").flags == (MS_NOSUID | MS_NODEV | MS_NOEXEC));
  CHECK(at(ops, "/tmp").options == "mode=1777");
}

TEST_CASE("mount plan: read-only unless writable, an overlay when needed", "[unit]") {
  plan p = sample_plan();
  mount_facts f = unprivileged();

  SECTION("writable none with every mount point: a bind, made read-only") {
    const auto ops = plan_mounts(p, f);
    CHECK(count(ops, mount_kind::overlay) == 0);
    CHECK(count(ops, mount_kind::make_target) == 0);
    CHECK(at(ops, "/").attrs == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV));
  }
  SECTION("writable none with targets missing: an overlay to make them, then read-only") {
    f.targets_missing = true;
    const auto ops = plan_mounts(p, f);
    CHECK(count(ops, mount_kind::bind_image) == 0);
    const auto& o = ops[first(ops, mount_kind::overlay)];
    CHECK(o.read_only);
    CHECK(o.flags == (MS_NOSUID | MS_NODEV));
    CHECK(o.options ==
          "lowerdir=/tmp/payload/rootfs,upperdir=/tmp/overlay/upper,"
          "workdir=/tmp/overlay/work");
    CHECK(first(ops, mount_kind::overlay_layers) < first(ops, mount_kind::overlay));
    // Every target is made, a file where its source is a file.
    CHECK(count(ops, mount_kind::make_target) == 2);
    const std::size_t m = first(ops, mount_kind::make_target);
    CHECK(ops[m].target == "/srv");
    CHECK(ops[m].directory);
    CHECK(ops[m + 1].target == "/etc/notes");
    CHECK_FALSE(ops[m + 1].directory);
    CHECK(first(ops, mount_kind::overlay) < m);
    CHECK(m + 2 == first(ops, mount_kind::remount_root_ro));
  }
  SECTION("writable tmpfs: an overlay on a tmpfs, never read-only") {
    p.writable = writable_mode::tmpfs;
    const auto ops = plan_mounts(p, f);
    CHECK_FALSE(ops[first(ops, mount_kind::overlay)].read_only);
    CHECK(count(ops, mount_kind::overlay_layers) == 1);
    CHECK(count(ops, mount_kind::make_target) == 2);
    CHECK(count(ops, mount_kind::remount_root_ro) == 0);
  }
  SECTION("writable persist: the overlay's layers are the instance's own") {
    p.writable = writable_mode::persist;
    const auto ops = plan_mounts(p, f);
    CHECK(count(ops, mount_kind::overlay_layers) == 0);
    CHECK(ops.front().kind == mount_kind::overlay);
    CHECK(ops.front().source == persist_dir);
    CHECK(ops.front().options.find("upperdir=/tmp/persist/upper") != std::string::npos);
    CHECK(count(ops, mount_kind::remount_root_ro) == 0);
  }
}

TEST_CASE("mount plan: a fresh sysfs only in a network namespace of its own", "[unit]") {
  plan p = sample_plan();
  auto ops = plan_mounts(p, unprivileged());
  CHECK(count(ops, mount_kind::sysfs) == 0);
  const auto& bind = at(ops, "/sys");
  CHECK(bind.kind == mount_kind::sys_bind);
  CHECK(bind.source == "/sys");
  CHECK(bind.read_only);
  CHECK(bind.attrs == (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));

  p.network = network_mode::none;
  ops = plan_mounts(p, unprivileged());
  CHECK(count(ops, mount_kind::sys_bind) == 0);
  CHECK(at(ops, "/sys").kind == mount_kind::sysfs);
  CHECK(at(ops, "/sys").flags == (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
}

TEST_CASE("mount plan: a root caller gets /proc protected, others nosuid and nodev binds",
          "[unit]") {
  plan p = sample_plan();
  p.output = "/home/u/result";
  mount_facts f = unprivileged();
  auto ops = plan_mounts(p, f);
  CHECK(count(ops, mount_kind::protect_proc) == 0);
  for (const char* target : {"/srv", "/etc/notes", "/out"})
    CHECK(at(ops, target).attrs == (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV));
  CHECK(at(ops, "/dev/pts").options == "newinstance,ptmxmode=0666,mode=0620");

  f.privileged = true;
  ops = plan_mounts(p, f);
  CHECK(count(ops, mount_kind::protect_proc) == 5);
  const std::size_t pp = first(ops, mount_kind::protect_proc);
  CHECK(ops[pp - 1].kind == mount_kind::proc);
  CHECK(ops[pp].target == "/proc/sys");
  CHECK(ops[pp + 5].kind == mount_kind::dev_tmpfs);
  for (const char* target : {"/srv", "/etc/notes", "/out"}) CHECK(at(ops, target).attrs == 0);
  CHECK(at(ops, "/").attrs == MOUNT_ATTR_RDONLY);
  CHECK(at(ops, "/dev/pts").options == "newinstance,ptmxmode=0666,mode=0620,gid=5");
}

TEST_CASE("mount plan: host files only where the host has them", "[unit]") {
  plan p = sample_plan();
  mount_facts f = unprivileged();
  CHECK(count(plan_mounts(p, f), mount_kind::host_file) == 0);
  p.resolv_conf = true;
  f.hosts = false;
  const auto ops = plan_mounts(p, f);
  REQUIRE(count(ops, mount_kind::host_file) == 1);
  CHECK(ops[first(ops, mount_kind::host_file)].target == "/etc/resolv.conf");
  // Its mount point is still made when the image lacks it.
  f.targets_missing = true;
  const auto targets = mount_targets(p, f.bind_is_dir);
  REQUIRE(targets.size() == 4);
  CHECK(targets[1].path == "/etc/hosts");
  CHECK_FALSE(targets[1].directory);
}

TEST_CASE("mount plan: each op reads as one line for --elements-debug", "[unit]") {
  plan p = sample_plan();
  p.network = network_mode::none;
  const auto ops = plan_mounts(p, unprivileged());
  CHECK(describe(ops.front()) == "bind-image /tmp/payload/rootfs -> /tmp/root rbind");
  CHECK(describe(at(ops, "/proc")) == "proc proc -> /proc nosuid,nodev,noexec");
  CHECK(describe(at(ops, "/sys")) == "sysfs sysfs -> /sys ro,nosuid,nodev,noexec");
  CHECK(describe(at(ops, "/srv")) == "user-bind /home/u/site -> /srv ro,nosuid,nodev,rbind");
  CHECK(describe(at(ops, "/dev/tty")) == "dev-node /dev/tty -> /dev/tty bind");
  CHECK(describe(ops.back()) == "pivot /tmp/root");
  for (const auto& op : ops) CHECK(describe(op).find('\n') == std::string::npos);
}

TEST_CASE("mount plan: the image's mount points are the table elements-pack adds", "[unit]") {
  std::vector<std::string> paths;
  for (const auto& m : system_mount_points) {
    paths.emplace_back(m.path);
    CHECK(m.directory);
  }
  CHECK(paths == std::vector<std::string>{"/proc", "/dev", "/sys", "/tmp"});
  // Each is the target of one of the plan's fresh filesystems.
  plan p = sample_plan();
  for (const auto net : {network_mode::host, network_mode::none}) {
    p.network = net;
    const auto ops = plan_mounts(p, unprivileged());
    for (const auto& path : paths) CHECK(at(ops, path).target == path);
  }
  CHECK_FALSE(host_file_mount_points[0].directory);
  CHECK(out_mount_point.path == "/out");
}

TEST_CASE("mount plan: elements-pack adds each mount point of the table", "[unit]") {
  using namespace elements::builder;
  const made_attrs made{0, 0, 7};
  const auto rootfs = make_dir(0755, made);
  spec s;
  s.args.push_back({});
  s.args.back().kind = arg_kind::output;
  CHECK(add_mount_points(rootfs, s, made).empty());
  std::vector<mount_point> all(std::begin(system_mount_points), std::end(system_mount_points));
  all.insert(all.end(), std::begin(host_file_mount_points), std::end(host_file_mount_points));
  all.push_back(out_mount_point);
  for (const auto& m : all) {
    const std::string path(m.path);
    INFO(path);
    const auto at = locate(rootfs, path);
    REQUIRE(at);
    REQUIRE(at->entry);
    CHECK(at->entry->is_dir() == m.directory);
    CHECK((at->entry->mode & 07777) == m.mode);
  }
}
