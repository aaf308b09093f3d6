#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "builder/definition/definition.hpp"
#include "builder/definition/image_config.hpp"
#include "builder/publish/assemble.hpp"
#include "builder/publish/runtime_blob.hpp"
#include "builder/sources/source.hpp"
#include "builder/squashfs/payload_layout.hpp"
#include "builder/squashfs/squashfs_writer.hpp"
#include "builder/steps/build_steps.hpp"
#include "elements/error.hpp"
#include "elements/unique_fd.hpp"
#include "source_test_support.hpp"

using namespace elements;
using namespace elements::builder;
using namespace builder_test;

namespace {

bool have_umoci() {
  return run("command -v umoci").status == 0;
}

void umoci(const std::string& args) {
  auto r = run("umoci " + args);
  INFO("umoci " << args << "\n" << r.output);
  REQUIRE(r.status == 0);
}

json read_json(const fs::path& p) {
  return json::parse(read_file(p));
}

fs::path blob_path(const fs::path& layout, const std::string& digest) {
  return layout / "blobs/sha256" / hex_of(digest);
}

json blob(const fs::path& layout, const std::string& digest) {
  return read_json(blob_path(layout, digest));
}

std::string manifest_digest(const fs::path& layout, const std::string& tag) {
  const json index = read_json(layout / "index.json");
  for (const auto& m : index["manifests"])
    if (m.value("annotations", json::object()).value("org.opencontainers.image.ref.name", "") ==
        tag)
      return m["digest"].get<std::string>();
  FAIL("no tag " << tag);
  return "";
}

std::vector<std::string> layer_digests(const fs::path& layout, const std::string& tag) {
  std::vector<std::string> out;
  const json manifest = blob(layout, manifest_digest(layout, tag));
  for (const auto& l : manifest["layers"]) out.push_back(l["digest"].get<std::string>());
  return out;
}

// Replaces a blob's bytes, as damage or tampering would.
void overwrite(const fs::path& p, const std::string& bytes) {
  fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write);
  write_file(p, bytes);
}

// An OCI layout written by hand, for what umoci does not make: indexes of
// several platforms, odd descriptors.
class layout_writer {
 public:
  explicit layout_writer(fs::path root) : root_(std::move(root)) {
    fs::create_directories(root_ / "blobs/sha256");
    write_file(root_ / "oci-layout", R"({"imageLayoutVersion": "1.0.0"})");
  }

  json add(const std::string& bytes, const std::string& media_type) {
    const auto digest = sha256_of(bytes);
    write_file(blob_path(root_, digest), bytes);
    return {{"mediaType", media_type}, {"digest", digest}, {"size", bytes.size()}};
  }

  // An image of one layer holding /arch with `arch` in it, compressed with
  // `filter`; its config lists `diff_id`, or the tar's digest.
  json image(const std::string& arch, const json& config_extra = json::object(),
             const std::string& filter = "", const std::optional<json>& diff_id = {}) {
    const auto tar = root_.parent_path() / ("layer-" + arch + ".tar");
    {
      tar_writer t(tar);
      t.file("arch", arch);
    }
    std::string layer = read_file(tar);
    const std::string tar_digest = sha256_of(layer);
    if (!filter.empty()) {
      auto compressed = tar;
      compressed += "." + filter;
      {
        tar_writer t(compressed, filter);
        t.file("arch", arch);
      }
      layer = read_file(compressed);
    }
    json config = {{"architecture", arch},
                   {"os", "linux"},
                   {"rootfs", {{"type", "layers"}, {"diff_ids", {diff_id.value_or(tar_digest)}}}},
                   {"config", config_extra}};
    json manifest = {{"schemaVersion", 2},
                     {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                     {"config", add(config.dump(), "application/vnd.oci.image.config.v1+json")},
                     {"layers", {add(layer, "application/vnd.oci.image.layer.v1.tar")}}};
    json d = add(manifest.dump(), "application/vnd.oci.image.manifest.v1+json");
    d["platform"] = {{"architecture", arch}, {"os", "linux"}};
    return d;
  }

  json index(const std::vector<json>& manifests) {
    json idx = {{"schemaVersion", 2},
                {"mediaType", "application/vnd.oci.image.index.v1+json"},
                {"manifests", manifests}};
    return add(idx.dump(), "application/vnd.oci.image.index.v1+json");
  }

  void top(const std::vector<json>& manifests) {
    write_file(root_ / "index.json", json{{"schemaVersion", 2}, {"manifests", manifests}}.dump());
  }

  static json named(json d, const std::string& ref) {
    d["annotations"] = {{"org.opencontainers.image.ref.name", ref}};
    return d;
  }

 private:
  fs::path root_;
};

std::string other_architecture() {
  return std::string(host_architecture()) == "amd64" ? "arm64" : "amd64";
}

}  // namespace

TEST_CASE("oci: applies an umoci image's layers with every digest checked", "[unit]") {
  if (!have_umoci()) {
    WARN("SKIPPED: umoci is not installed");
    return;
  }
  temp_dir dir;
  const auto img = dir / "img";
  write_base_layer(dir / "base.tar");
  write_upper_layer(dir / "upper.tar");
  umoci("init --layout " + quote(img));
  umoci("new --image " + quote(img) + ":v1");
  umoci("raw add-layer --image " + quote(img) + ":v1 " + quote(dir / "base.tar"));
  umoci("raw add-layer --image " + quote(img) + ":v1 " + quote(dir / "upper.tar"));

  const node_ptr root = read_tree("oci:img:v1", dir.path());
  check_layered_tree(root);
  // Without REF, the layout's only image.
  CHECK(at(read_tree("oci:img", dir.path()), "/opaque/new"));
  // By the manifest's digest.
  CHECK(at(read_tree("oci:img:" + manifest_digest(img, "v1"), dir.path()), "/opaque/new"));

  if (!have_unsquashfs()) {
    WARN("SKIPPED image listing: unsquashfs (squashfs-tools) is not installed");
    return;
  }
  const auto image = dir / "image.sqfs";
  unique_fd fd(::open(image.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  REQUIRE(fd);
  write_squashfs(fd.get(), 0, root, {});
  check_layered_image(image);
}

TEST_CASE("oci: refuses a hostile layer, naming its digest and the entry", "[unit]") {
  if (!have_umoci()) {
    WARN("SKIPPED: umoci is not installed");
    return;
  }
  temp_dir dir;
  const auto img = dir / "img";
  write_base_layer(dir / "base.tar");
  {
    tar_writer t(dir / "evil.tar");
    t.file("harmless", "x");
    t.symlink("link", "/etc");
    t.file("link/passwd", "root::0:0::/:/bin/sh\n");
  }
  {
    tar_writer t(dir / "climb.tar");
    t.file("../../outside", "x");
  }
  umoci("init --layout " + quote(img));
  umoci("new --image " + quote(img) + ":evil");
  umoci("raw add-layer --image " + quote(img) + ":evil " + quote(dir / "base.tar"));
  umoci("raw add-layer --image " + quote(img) + ":evil " + quote(dir / "evil.tar"));
  umoci("new --image " + quote(img) + ":climb");
  umoci("raw add-layer --image " + quote(img) + ":climb " + quote(dir / "climb.tar"));

  const auto evil = layer_digests(img, "evil").at(1);
  auto [message, status] = refusal([&] { read_tree("oci:img:evil", dir.path()); });
  CHECK(message == "oci:img:evil: layer " + evil +
                       ": \"link/passwd\" goes through the symlink /link (-> /etc), which could "
                       "lead outside the root; the layer is refused");
  CHECK(status == exit_build_failed);

  const auto climb = layer_digests(img, "climb").at(0);
  CHECK(refusal([&] { read_tree("oci:img:climb", dir.path()); }).first ==
        "oci:img:climb: layer " + climb +
            ": \"../../outside\" leaves its folder with \"..\", outside the root; the layer is "
            "refused");
}

TEST_CASE("oci: a blob that does not match its digest is refused, naming the blob", "[unit]") {
  if (!have_umoci()) {
    WARN("SKIPPED: umoci is not installed");
    return;
  }
  temp_dir dir;
  const auto img = dir / "img";
  write_base_layer(dir / "base.tar");
  umoci("init --layout " + quote(img));
  umoci("new --image " + quote(img) + ":v1");
  umoci("raw add-layer --image " + quote(img) + ":v1 " + quote(dir / "base.tar"));
  umoci("config --image " + quote(img) + ":v1 --config.cmd /bin/true");
  const auto pristine = dir / "pristine";
  fs::copy(img, pristine, fs::copy_options::recursive);

  auto fresh = [&] {
    fs::remove_all(img);
    fs::copy(pristine, img, fs::copy_options::recursive);
  };
  auto refused = [&] { return refusal([&] { read_tree("oci:img:v1", dir.path()); }); };

  SECTION("a layer") {
    const auto layer = layer_digests(img, "v1").at(0);
    write_base_layer(dir / "other.tar.gz", "gzip");
    const std::string other = read_file(dir / "other.tar.gz") + "tampered";
    overwrite(blob_path(img, layer), other);
    auto [message, status] = refused();
    CHECK(message == "oci:img:v1: layer " + layer + ": the blob's bytes hash to " +
                         sha256_of(other) +
                         ", not to the digest that names them: the image is damaged or was "
                         "altered (fetch or save it again)");
    CHECK(status == exit_build_failed);
    fresh();
    fs::remove(blob_path(img, layer));
    CHECK(refused().first.find("layer " + layer + " is missing from") != std::string::npos);
  }
  SECTION("the config, also when only the image's settings are read") {
    const auto config =
        blob(img, manifest_digest(img, "v1"))["config"]["digest"].get<std::string>();
    std::string bytes = read_file(blob_path(img, config));
    bytes.replace(bytes.find("/bin/true"), 9, "/bin/evil");
    overwrite(blob_path(img, config), bytes);
    const std::string expected =
        "oci:img:v1: config " + config + ": the blob's bytes hash to " + sha256_of(bytes);
    CHECK(refused().first.starts_with(expected));
    CHECK(refusal([&] {
            read_image_config(parse_source_ref("oci:img:v1", dir.path(), "--from"));
          }).first.starts_with(expected));
  }
  SECTION("the manifest") {
    const auto manifest = manifest_digest(img, "v1");
    overwrite(blob_path(img, manifest), read_file(blob_path(img, manifest)) + " ");
    CHECK(refused().first.starts_with("oci:img:v1: manifest " + manifest +
                                      ": the blob's bytes hash to "));
  }
}

TEST_CASE("oci: a layer whose tar is not the config's diff_id is refused, naming the layer",
          "[unit]") {
  temp_dir dir;
  layout_writer l(dir / "img");
  const std::string host = host_architecture();
  // Compressed: the diff_id is the digest of the tar inside, not of the blob.
  const json good = l.image(host, json::object(), "gzip");
  l.top({good});
  CHECK(contents(at(read_tree("oci:img", dir.path()), "/arch")) == host);

  const auto blob_digest = [&](const json& manifest) {
    return blob(dir / "img", manifest["digest"].get<std::string>())["layers"][0]["digest"]
        .get<std::string>();
  };
  // A config naming another tar than the blob holds.
  const json wrong = l.image(host, json::object(), "gzip", sha256_of("another layer"));
  l.top({wrong});
  auto [message, status] = refusal([&] { read_tree("oci:img", dir.path()); });
  CHECK(message == "oci:img: layer " + blob_digest(wrong) +
                       ": decompresses to a tar whose digest is " +
                       sha256_of(read_file(dir / ("layer-" + host + ".tar"))) +
                       ", not the diff_id " + sha256_of("another layer") +
                       " the image config lists for it: the image is damaged or was altered "
                       "(fetch or save it again)");
  CHECK(status == exit_build_failed);

  const json odd = l.image(host, json::object(), "", json(42));
  l.top({odd});
  CHECK(refusal([&] { read_tree("oci:img", dir.path()); })
            .first.ends_with(": rootfs.diff_ids/0 is not a sha256 digest (sha256: and 64 hex "
                             "digits)"));
}

TEST_CASE("oci: REF picks an image by name or digest, and an index the host's platform", "[unit]") {
  temp_dir dir;
  layout_writer l(dir / "img");
  const std::string host = host_architecture(), other = other_architecture();
  const json mine = l.image(host), theirs = l.image(other);
  json attestation = l.image("unknown");
  attestation["platform"] = {{"architecture", "unknown"}, {"os", "unknown"}};
  const json multi = l.index({theirs, attestation, mine});
  const json only_other = l.index({theirs});
  l.top({layout_writer::named(multi, "multi"), layout_writer::named(only_other, "foreign"),
         layout_writer::named(theirs, "plain")});

  CHECK(contents(at(read_tree("oci:img:multi", dir.path()), "/arch")) == host);
  CHECK(contents(at(read_tree("oci:img:plain", dir.path()), "/arch")) == other);
  // A digest may name a manifest inside an index.
  CHECK(contents(at(read_tree("oci:img:" + theirs["digest"].get<std::string>(), dir.path()),
                    "/arch")) == other);

  auto [foreign, status] = refusal([&] { read_tree("oci:img:foreign", dir.path()); });
  CHECK(foreign == "oci:img:foreign: index " + only_other["digest"].get<std::string>() +
                       " has no image for linux/" + host + " (it has linux/" + other +
                       "); name one by digest with oci:PATH:sha256:DIGEST");
  CHECK(status == exit_usage);
  CHECK(refusal([&] { read_tree("oci:img", dir.path()); }).first ==
        "oci:img: the layout holds 3 images; name one with oci:PATH:REF (it has multi, foreign, "
        "plain)");
  CHECK(refusal([&] { read_tree("oci:img:nope", dir.path()); }).first ==
        "oci:img:nope: no image in the layout is named \"nope\" (it has multi, foreign, plain)");
  const std::string unknown = sha256_of("nothing");
  CHECK(refusal([&] { read_tree("oci:img:" + unknown, dir.path()); }).first ==
        "oci:img:" + unknown + ": no manifest in the layout has the digest " + unknown);

  // A digest is a file name in blobs/: nothing else may become one.
  json sneaky = theirs;
  sneaky["digest"] = "sha256:../../../../etc/passwd";
  l.top({sneaky});
  CHECK(refusal([&] { read_tree("oci:img", dir.path()); }).first ==
        "oci:img: manifest names the digest \"sha256:../../../../etc/passwd\"; only sha256 "
        "digests (sha256: and 64 hex digits) are read");
  // An index with one image per platform needs no REF.
  l.top({theirs, mine});
  CHECK(contents(at(read_tree("oci:img", dir.path()), "/arch")) == host);
}

TEST_CASE("oci: PATH may hold colons; REF is what follows the layout", "[unit]") {
  temp_dir dir;
  layout_writer l(dir / "a:b");
  l.top({layout_writer::named(l.image(host_architecture()), "1.0")});
  auto ref = parse_source_ref("oci:a:b:1.0", dir.path(), "element.json: /from");
  CHECK(ref.path == dir / "a:b");
  CHECK(ref.reference == "1.0");
  ref = parse_source_ref("oci:a:b", dir.path(), "--from");
  CHECK(ref.path == dir / "a:b");
  CHECK(ref.reference.empty());
  CHECK_THROWS_WITH(parse_source_ref("oci:missing:1.0", dir.path(), "--from"),
                    "--from: no OCI image layout at " + (dir / "missing:1.0").native() +
                        " (oci: needs the folder holding index.json, then :REF to pick a tag or "
                        "sha256:DIGEST)");
}

TEST_CASE("oci: the image config fills what the definition's run leaves out", "[unit]") {
  temp_dir dir;
  layout_writer l(dir / "img");
  l.top({layout_writer::named(
      l.image(host_architecture(), {{"Entrypoint", {"/bin/sh", "-c"}},
                                    {"Cmd", {"echo $HOME"}},
                                    {"Env",
                                     {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/root",
                                      "GREETING=image", "ELEMENTS_NAME=x", "broken"}},
                                    {"WorkingDir", "/srv"},
                                    {"User", "1000:1000"}}),
      "v1")});
  const auto f = dir / "element.json";

  auto def = parse_definition(R"({"name": "a", "from": "oci:img:v1",
                                  "run": {"env": {"GREETING": "definition"}}})",
                              f);
  CHECK(def.run.command == std::vector<std::string>{"/bin/sh", "-c", "echo $$HOME"});
  CHECK(def.run.workdir == "/srv");
  std::map<std::string, std::string> env;
  for (const auto& [k, v] : def.run.env) env[k] = v.value;
  CHECK(env == std::map<std::string, std::string>{{"GREETING", "definition"},
                                                  {"HOME", "/root"},
                                                  {"PATH", "/usr/local/bin:/usr/bin:/bin"}});
  CHECK(def.warnings == std::vector<std::string>{
                            "oci:img:v1: the image sets ELEMENTS_NAME, which the runtime sets "
                            "itself; the image's value is left out",
                            "oci:img:v1: the image's environment entry \"broken\" is not "
                            "NAME=value; it is left out",
                            "oci:img:v1: the image runs its command as user \"1000:1000\"; a file "
                            "runs it as root in the container, or as the caller with run.user "
                            "\"keep\" (switch users in the command if it matters)"});

  // What the definition says wins; --from picks the image whose config counts.
  def = parse_definition(R"({"name": "a", "from": "scratch",
                             "run": {"command": ["/bin/true"], "workdir": "/", "user": "keep"}})",
                         f, "oci:" + (dir / "img").native() + ":v1");
  CHECK(def.run.command == std::vector<std::string>{"/bin/true"});
  CHECK(def.run.workdir == "/");
  CHECK(def.warnings.size() == 2);

  layout_writer bare(dir / "bare");
  bare.top({bare.image(host_architecture())});
  CHECK_THROWS_WITH(parse_definition(R"({"name": "a", "from": "oci:bare"})", f),
                    f.native() +
                        ": /run: missing required field \"command\" (oci:bare names no "
                        "Entrypoint or Cmd to take it from)");
}

TEST_CASE("a definition from an OCI image with a copy step makes a file that runs", "[unit]") {
  if (!have_umoci() || !fs::exists("/bin/busybox")) {
    WARN("SKIPPED: needs umoci and /bin/busybox (busybox-static)");
    return;
  }
  temp_dir dir;
  const auto img = dir / "img";
  {
    tar_writer t(dir / "busybox.tar");
    t.file("bin/busybox", read_file("/bin/busybox"), {0755});
    t.symlink("bin/sh", "busybox");
    t.symlink("bin/cat", "busybox");
    t.file("etc/motd", "from the image\n");
  }
  umoci("init --layout " + quote(img));
  umoci("new --image " + quote(img) + ":v1");
  umoci("raw add-layer --image " + quote(img) + ":v1 " + quote(dir / "busybox.tar"));
  umoci("config --image " + quote(img) +
        ":v1 --config.entrypoint /bin/cat --config.cmd /etc/motd --config.cmd /etc/added");
  write_file(dir / "added", "and from the definition\n");
  write_file(dir / "element.json", R"({"name": "motd", "from": "oci:img:v1",
      "build": [{"copy": "added", "to": "/etc/added"}]})");

  // The phases of elements-pack, as its main runs them.
  const definition def = load_definition(dir / "element.json");
  const made_attrs made{0, 0, 1700000000};
  node_ptr rootfs = open_source(resolve_source(def, std::nullopt), made)->read_tree();
  for (const auto& step : def.build) apply_copy(rootfs, *step.copy, made);
  add_mount_points(rootfs, def.run, made);
  const auto rt = load_runtime(embedded_runtime(), "the embedded runtime");
  assembly how;
  how.output = dir / "motd.AppImage";
  assemble(rt, make_payload_tree(def, memory_file(rt.bytes, "AppRun"), rootfs, made), how);

  auto r = run(quote(dir / "motd.AppImage"));
  if (r.status == 125) {
    WARN("SKIPPED running the file: the container could not start here: " << r.output);
    return;
  }
  CHECK(r.status == 0);
  CHECK(r.output == "from the image\nand from the definition\n");
}

TEST_CASE("oci: the index, manifest and config are read once for config and tree", "[unit]") {
  temp_dir dir;
  layout_writer l(dir / "img");
  const std::string host = host_architecture();
  l.top({layout_writer::named(l.image(host, {{"Cmd", {"/bin/sh"}}}), "v1")});
  auto src = open_source(parse_source_ref("oci:img:v1", dir.path(), "--from"));
  REQUIRE(src->config());
  // index.json, the manifest, the config.
  CHECK(src->reads().opens == 3);
  CHECK(contents(at(src->read_tree(), "/arch")) == host);
  CHECK(src->config()->cmd == std::vector<std::string>{"/bin/sh"});
  // And the one layer, opened for each tree.
  CHECK(src->reads().opens == 4);
}
