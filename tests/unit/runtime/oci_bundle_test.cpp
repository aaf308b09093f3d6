// The OCI runtime-spec config made from a plan (runtime/container/oci_bundle.cpp):
// the same process, mounts and namespaces as the built-in runtime.
#include "runtime/container/oci_bundle.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace elements;
using namespace elements::runtime;
using nlohmann::json;

namespace {

plan sample_plan() {
  plan p;
  p.name = "web";
  p.instance = "a1";
  p.id = "web.a1";
  p.argv = {"/bin/httpd", "-f"};
  p.env = {"PATH=/bin", "PORT=8080", "ODD=a\"b\\c\nd\x01"};
  p.workdir = "/srv";
  p.hostname = "web.a1";
  p.binds = {{"/home/u/site", "/srv", true}, {"/home/u/data", "/data", false}};
  return p;
}

json find_mount(const json& config, const std::string& destination) {
  for (const auto& m : config["mounts"])
    if (m["destination"] == destination) return m;
  return nullptr;
}

bool has_namespace(const json& config, const std::string& type) {
  const auto& ns = config["linux"]["namespaces"];
  return std::any_of(ns.begin(), ns.end(), [&](const json& n) { return n["type"] == type; });
}

bool has_option(const json& mount, const std::string& option) {
  const auto& o = mount["options"];
  return std::find(o.begin(), o.end(), option) != o.end();
}

json config(const plan& p, const oci_caller& caller, const std::string& root,
            const std::string& out) {
  return json::parse(oci_config(p, caller, root, out));
}

}  // namespace

TEST_CASE("the process is the plan's command, env, workdir and no_new_privs", "[unit]") {
  const json c = config(sample_plan(), {1000, 1000, false, ~0ull, true, true}, "rootfs", "");
  CHECK(c["process"]["args"] == json({"/bin/httpd", "-f"}));
  // Every byte of a value comes back as it was: quotes, backslashes, controls.
  CHECK(c["process"]["env"] == json({"PATH=/bin", "PORT=8080", "ODD=a\"b\\c\nd\x01"}));
  CHECK(c["process"]["cwd"] == "/srv");
  CHECK(c["process"]["noNewPrivileges"] == true);
  CHECK(c["process"]["terminal"] == false);
  CHECK(c["hostname"] == "web.a1");
  CHECK(c["root"] == json({{"path", "rootfs"}, {"readonly", true}}));
}

TEST_CASE("a caller who is not root gets a user namespace mapping itself", "[unit][userns]") {
  plan p = sample_plan();
  json c = config(p, {1000, 100, false, ~0ull, true, true}, "rootfs", "");
  REQUIRE(has_namespace(c, "user"));
  CHECK(c["linux"]["uidMappings"] ==
        json::array({{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}}));
  CHECK(c["linux"]["gidMappings"] ==
        json::array({{{"containerID", 0}, {"hostID", 100}, {"size", 1}}}));
  CHECK(c["process"]["user"] == json({{"uid", 0}, {"gid", 0}}));
  CHECK(c["process"]["capabilities"]["effective"].size() == 41);
  // Binds carry nosuid and nodev: the caller could not have them otherwise.
  const json data = find_mount(c, "/data");
  CHECK(data["source"] == "/home/u/data");
  CHECK(has_option(data, "rbind"));
  CHECK(has_option(data, "rw"));
  CHECK(has_option(data, "nosuid"));
  CHECK(has_option(find_mount(c, "/srv"), "ro"));
  CHECK_FALSE(has_option(find_mount(c, "/dev/pts"), "gid=5"));

  p.user = user_mode::keep;
  c = config(p, {1000, 100, false, (1ull << 38) - 1, true, true}, "rootfs", "");
  CHECK(c["linux"]["uidMappings"][0]["containerID"] == 1000);
  CHECK(c["process"]["user"] == json({{"uid", 1000}, {"gid", 100}}));
  // A uid other than 0 keeps capabilities only in its bounding set.
  CHECK_FALSE(c["process"]["capabilities"].contains("effective"));
  CHECK(c["process"]["capabilities"]["bounding"].size() == 38);
}

TEST_CASE("root gets no user namespace, and devpts its tty group", "[unit]") {
  const json c = config(sample_plan(), {0, 0, true, ~(1ull << 24), true, true}, "rootfs", "");
  CHECK_FALSE(has_namespace(c, "user"));
  CHECK_FALSE(c["linux"].contains("uidMappings"));
  CHECK(has_option(find_mount(c, "/dev/pts"), "gid=5"));
  CHECK_FALSE(has_option(find_mount(c, "/data"), "nosuid"));
  CHECK(c["process"]["terminal"] == true);
  // Only what the caller's bounding set holds: runc refuses more.
  const auto& caps = c["process"]["capabilities"]["permitted"];
  CHECK(caps.size() == 40);
  CHECK(std::find(caps.begin(), caps.end(), "CAP_SYS_RESOURCE") == caps.end());
  for (const char* ns : {"pid", "ipc", "uts", "mount"}) CHECK(has_namespace(c, ns));
  CHECK_FALSE(has_namespace(c, "network"));
  CHECK(find_mount(c, "/sys")["type"] == "bind");
}

TEST_CASE("network none, writable, resolvConf and /out shape the config", "[unit]") {
  plan p = sample_plan();
  p.network = network_mode::none;
  p.writable = writable_mode::tmpfs;
  p.resolv_conf = true;
  p.output = "/home/u/result";
  json c = config(p, {1000, 1000, false, ~0ull, true, false}, "/abs/rootfs", "/stage");
  CHECK(has_namespace(c, "network"));
  CHECK(find_mount(c, "/sys")["type"] == "sysfs");
  CHECK(c["root"] == json({{"path", "/abs/rootfs"}, {"readonly", false}}));
  CHECK(find_mount(c, "/etc/resolv.conf")["source"] == "/etc/resolv.conf");
  CHECK(find_mount(c, "/etc/hosts").is_null());  // the host has none
  CHECK(find_mount(c, "/out")["source"] == "/stage");
  // Mounts keep the built-in runtime's order: system ones, then /out, then binds.
  std::vector<std::string> order;
  for (const auto& m : c["mounts"]) order.push_back(m["destination"]);
  CHECK(order == std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/dev/shm", "/tmp", "/sys",
                                          "/etc/resolv.conf", "/out", "/srv", "/data"});
}

TEST_CASE("each mount's options are the built-in runtime's flags and data", "[unit]") {
  plan p = sample_plan();
  p.resolv_conf = true;
  p.output = "/home/u/result";
  const json c = config(p, {1000, 1000, false, ~0ull, true, true}, "rootfs", "/stage");
  CHECK(find_mount(c, "/proc")["options"] == json({"nosuid", "nodev", "noexec"}));
  CHECK(find_mount(c, "/dev")["options"] == json({"nosuid", "strictatime", "mode=755", "size=1m"}));
  CHECK(find_mount(c, "/dev/shm") == json({{"destination", "/dev/shm"},
                                           {"type", "tmpfs"},
                                           {"source", "shm"},
                                           {"options", {"nosuid", "nodev", "mode=1777"}}}));
  CHECK(find_mount(c, "/sys") == json({{"destination", "/sys"},
                                       {"type", "bind"},
                                       {"source", "/sys"},
                                       {"options", {"rbind", "nosuid", "nodev", "noexec", "ro"}}}));
  // The host's own files: one file each, read-only, as root gives them.
  CHECK(find_mount(c, "/etc/hosts")["options"] == json({"bind", "ro"}));
  CHECK(find_mount(c, "/out")["options"] == json({"rbind", "rw", "nosuid", "nodev"}));
  CHECK(find_mount(c, "/srv")["options"] == json({"rbind", "ro", "nosuid", "nodev"}));
  // No mount of the root itself, of /dev's nodes or of the pivot: runc's own.
  CHECK(find_mount(c, "/dev/null").is_null());
  CHECK(find_mount(c, "/dev/ptmx").is_null());
  CHECK(find_mount(c, "/tmp/root").is_null());
  CHECK(find_mount(c, "/").is_null());
}
