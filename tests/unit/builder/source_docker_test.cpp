#include <catch2/catch.hpp>
#include <string>

#include "builder/definition/definition.hpp"
#include "builder/sources/source.hpp"
#include "elements/error.hpp"
#include "source_test_support.hpp"

using namespace elements;
using namespace elements::builder;
using namespace builder_test;

namespace {

struct saved_image {
  std::vector<std::string> tags;
  std::vector<fs::path> layers;  // tar files, bottom first
  json config = json::object();  // the "config" object: Cmd, Env, ...
  // Tampering, to check what is verified: the bytes stored for layer i.
  std::map<std::size_t, std::string> stored_instead;
};

enum class save_format {
  legacy,  // docker before 25, podman, skopeo: ID/layer.tar and HEX.json
  blobs,   // docker 25 and later: blobs/sha256/HEX
};

// Writes what "docker save" writes for `images`. A layer several images
// share is stored once; the legacy format links the others to it.
void write_docker_archive(const fs::path& out, const std::vector<saved_image>& images,
                          save_format format = save_format::legacy,
                          const std::string& filter = "") {
  tar_writer t(out, filter);
  json manifest = json::array();
  std::map<std::string, std::string> stored;  // diff_id -> member
  int next_id = 0;
  for (const auto& img : images) {
    json config = {{"architecture", "amd64"}, {"os", "linux"}, {"config", img.config}};
    json layers = json::array();
    json diff_ids = json::array();
    for (std::size_t i = 0; i < img.layers.size(); ++i) {
      const std::string bytes = read_file(img.layers[i]);
      const std::string diff_id = sha256_of(bytes);
      diff_ids.push_back(diff_id);
      const auto instead = img.stored_instead.find(i);
      const std::string content = instead == img.stored_instead.end() ? bytes : instead->second;
      std::string member = format == save_format::blobs
                               ? "blobs/sha256/" + hex_of(sha256_of(content))
                               : "layer" + std::to_string(next_id++) + "/layer.tar";
      if (auto it = stored.find(diff_id); it != stored.end() && format == save_format::legacy) {
        t.symlink(member, "../" + it->second);
      } else if (it == stored.end()) {
        t.file(member, content);
        stored[diff_id] = member;
      } else {
        member = it->second;
      }
      layers.push_back(member);
    }
    config["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
    const std::string config_bytes = config.dump();
    const std::string config_member = format == save_format::blobs
                                          ? "blobs/sha256/" + hex_of(sha256_of(config_bytes))
                                          : hex_of(sha256_of(config_bytes)) + ".json";
    t.file(config_member, config_bytes);
    manifest.push_back({{"Config", config_member}, {"RepoTags", img.tags}, {"Layers", layers}});
  }
  t.file("manifest.json", manifest.dump());
}

// demo.tar: two layers and a command, their tars beside it. A third layer
// of `big_layer` bytes holds /big, and a variable of `big_env` bytes makes
// the config larger.
saved_image write_demo_archive(const fs::path& dir, std::size_t big_layer = 0,
                               std::size_t big_env = 0, save_format format = save_format::legacy) {
  write_base_layer(dir / "base.tar");
  write_upper_layer(dir / "upper.tar");
  saved_image img{{"demo:1"}, {dir / "base.tar", dir / "upper.tar"}};
  img.config = {{"Cmd", {"/bin/sh"}}};
  if (big_layer) {
    {
      tar_writer t(dir / "big.tar");
      t.file("big", std::string(big_layer, 'x'));
    }
    img.layers.push_back(dir / "big.tar");
  }
  if (big_env) img.config["Env"] = {"BIG=" + std::string(big_env, 'y')};
  write_docker_archive(dir / "demo.tar", {img}, format);
  return img;
}

}  // namespace

TEST_CASE("docker-archive: applies a saved image's layers, checked against its config", "[unit]") {
  temp_dir dir;
  write_base_layer(dir / "base.tar");
  write_upper_layer(dir / "upper.tar");
  const saved_image img{{"demo:1"}, {dir / "base.tar", dir / "upper.tar"}};
  for (auto format : {save_format::legacy, save_format::blobs}) {
    INFO((format == save_format::legacy ? "legacy" : "blobs"));
    write_docker_archive(dir / "demo.tar", {img}, format);
    check_layered_tree(read_tree("docker-archive:demo.tar", dir.path()));
    check_layered_tree(read_tree("docker-archive:demo.tar:demo:1", dir.path()));
  }
  // "docker save | gzip" is read as well.
  write_docker_archive(dir / "demo.tar.gz", {img}, save_format::legacy, "gzip");
  check_layered_tree(read_tree("docker-archive:demo.tar.gz", dir.path()));
}

TEST_CASE("docker-archive: REF picks an image by its tag", "[unit]") {
  temp_dir dir;
  write_base_layer(dir / "base.tar");
  write_upper_layer(dir / "upper.tar");
  // The second image shares the base layer: docker save links it.
  write_docker_archive(dir / "two.tar",
                       {{{"busybox:latest", "example.org/busybox:1"}, {dir / "base.tar"}},
                        {{"demo:2"}, {dir / "base.tar", dir / "upper.tar"}}});
  CHECK(read_file(dir / "two.tar").find("../layer0/layer.tar") != std::string::npos);

  CHECK_FALSE(at(read_tree("docker-archive:two.tar:busybox", dir.path()), "/opaque/new"));
  CHECK_FALSE(
      at(read_tree("docker-archive:two.tar:example.org/busybox:1", dir.path()), "/opaque/new"));
  check_layered_tree(read_tree("docker-archive:two.tar:demo:2", dir.path()));

  auto [several, status] = refusal([&] { read_tree("docker-archive:two.tar", dir.path()); });
  CHECK(several ==
        "docker-archive:two.tar: the archive holds 2 images; name one with "
        "docker-archive:PATH:TAG (it has busybox:latest, example.org/busybox:1, demo:2)");
  CHECK(status == exit_usage);
  CHECK(refusal([&] { read_tree("docker-archive:two.tar:demo:3", dir.path()); }).first ==
        "docker-archive:two.tar:demo:3: no image in the archive is tagged \"demo:3\" (it has "
        "busybox:latest, example.org/busybox:1, demo:2)");
  CHECK_THROWS_WITH(parse_source_ref("docker-archive:none.tar", dir.path(), "--from"),
                    "--from: " + (dir / "none.tar").native() +
                        " is not a file (docker-archive: needs what \"docker save\" wrote, then "
                        ":REF to pick one of its tags)");
  write_file(dir / "plain.tar", "");
  CHECK(refusal([&] { read_tree("docker-archive:plain.tar", dir.path()); }).first ==
        "docker-archive:plain.tar: no manifest.json in " + (dir / "plain.tar").native() +
            " (docker-archive: reads what \"docker save\" writes)");
}

TEST_CASE("docker-archive: a layer or config that is not what the image names is refused",
          "[unit]") {
  temp_dir dir;
  write_base_layer(dir / "base.tar");
  write_upper_layer(dir / "upper.tar");
  const std::string base_id = sha256_of(read_file(dir / "base.tar"));

  saved_image swapped{{"demo:1"}, {dir / "base.tar"}};
  swapped.stored_instead[0] = read_file(dir / "upper.tar");
  write_docker_archive(dir / "swapped.tar", {swapped});
  auto [message, status] = refusal([&] { read_tree("docker-archive:swapped.tar", dir.path()); });
  CHECK(message == "docker-archive:swapped.tar: layer layer0/layer.tar is not the layer " +
                       base_id +
                       " its config names: the archive is damaged or was altered (save the image "
                       "again)");
  CHECK(status == exit_build_failed);

  // In the blobs format the member's name is checked as well.
  write_docker_archive(dir / "swapped-blobs.tar", {swapped}, save_format::blobs);
  CHECK(refusal([&] {
          read_tree("docker-archive:swapped-blobs.tar", dir.path());
        }).first.find("is not the layer " + base_id) != std::string::npos);

  // A compressed layer is checked by the tar inside it.
  write_base_layer(dir / "base.tar.gz", "gzip");
  saved_image zipped{{"demo:1"}, {dir / "base.tar"}};
  zipped.stored_instead[0] = read_file(dir / "base.tar.gz");
  REQUIRE(sha256_of(read_file(dir / "base.tar")) == base_id);
  write_docker_archive(dir / "zipped.tar", {zipped});
  CHECK(at(read_tree("docker-archive:zipped.tar", dir.path()), "/usr/bin/suid"));

  // A config whose bytes are not what its name says.
  write_docker_archive(dir / "config.tar", {{{"demo:1"}, {dir / "base.tar"}}});
  std::string archive = read_file(dir / "config.tar");
  const auto at_os = archive.find("\"os\":\"linux\"");
  REQUIRE(at_os != std::string::npos);
  archive[at_os + 6] = 'L';  // "Linux": same length, so the tar stays whole
  write_file(dir / "config.tar", archive);
  CHECK(refusal([&] {
          read_tree("docker-archive:config.tar", dir.path());
        }).first.find(".json hashes to sha256:") != std::string::npos);
  CHECK(refusal([&] {
          read_image_config(parse_source_ref("docker-archive:config.tar", dir.path(), "--from"));
        }).first.find(".json hashes to sha256:") != std::string::npos);
}

TEST_CASE("docker-archive: a hostile layer is refused, naming its digest and the entry", "[unit]") {
  temp_dir dir;
  write_base_layer(dir / "base.tar");
  {
    tar_writer t(dir / "evil.tar");
    t.symlink("link", "/etc");
    t.file("link/passwd", "root::0:0::/:/bin/sh\n");
  }
  write_docker_archive(dir / "evil.tar.save", {{{"evil:1"}, {dir / "base.tar", dir / "evil.tar"}}});
  CHECK(refusal([&] { read_tree("docker-archive:evil.tar.save", dir.path()); }).first ==
        "docker-archive:evil.tar.save: layer " + sha256_of(read_file(dir / "evil.tar")) +
            ": \"link/passwd\" goes through the symlink /link (-> /etc), which could lead "
            "outside the root; the layer is refused");
}

TEST_CASE("docker-archive: the image config fills the definition's run", "[unit]") {
  temp_dir dir;
  write_base_layer(dir / "base.tar");
  saved_image img{{"demo:1"}, {dir / "base.tar"}};
  img.config = {{"Cmd", {"/bin/sh"}}, {"Env", {"A=1"}}, {"WorkingDir", "/home/user"}};
  write_docker_archive(dir / "demo.tar", {img});
  const auto def = parse_definition(R"({"name": "a", "from": "docker-archive:demo.tar:demo:1"})",
                                    dir / "element.json");
  CHECK(def.run.command == std::vector<std::string>{"/bin/sh"});
  CHECK(def.run.workdir == "/home/user");
  REQUIRE(def.run.env.size() == 1);
  CHECK(def.run.env[0].first == "A");
  CHECK(def.run.env[0].second.value == "1");
  CHECK(def.warnings.empty());
}

TEST_CASE("docker-archive: the archive is opened once and each member read once", "[unit]") {
  temp_dir dir;
  write_demo_archive(dir.path());
  const auto ref = parse_source_ref("docker-archive:demo.tar", dir.path(), "--from");
  const auto cmd_of = [](source& s) { return s.config().value().cmd; };

  // A small image: the pass that finds the manifest keeps the config and
  // the layers, and nothing is read again.
  for (auto format : {save_format::legacy, save_format::blobs}) {
    INFO((format == save_format::legacy ? "legacy" : "blobs"));
    write_demo_archive(dir.path(), 0, 0, format);
    auto src = open_source(ref);
    CHECK(src->reads().opens == 0);
    CHECK(cmd_of(*src) == std::vector<std::string>{"/bin/sh"});
    CHECK(src->reads().passes == 1);
    check_layered_tree(src->read_tree());
    check_layered_tree(src->read_tree());
    CHECK(cmd_of(*src) == std::vector<std::string>{"/bin/sh"});
    CHECK(src->reads().opens == 1);
    CHECK(src->reads().passes == 1);
  }

  // A large layer takes a second pass, once, whichever is asked first.
  write_demo_archive(dir.path(), 300 << 10);
  auto large = open_source(ref);
  CHECK(cmd_of(*large) == std::vector<std::string>{"/bin/sh"});
  CHECK(large->reads().passes == 1);
  CHECK(at(large->read_tree(), "/big"));
  CHECK(at(large->read_tree(), "/big"));
  CHECK(large->reads().passes == 2);
  CHECK(large->reads().opens == 1);

  // A config too large to keep: the config alone stops a pass at it; the
  // tree alone takes it with the layers.
  write_demo_archive(dir.path(), 300 << 10, 300 << 10);
  auto config_first = open_source(ref);
  CHECK(cmd_of(*config_first) == std::vector<std::string>{"/bin/sh"});
  CHECK(config_first->reads().passes == 2);
  CHECK(at(config_first->read_tree(), "/big"));
  CHECK(config_first->reads().passes == 3);
  auto tree_first = open_source(ref);
  CHECK(at(tree_first->read_tree(), "/big"));
  CHECK(cmd_of(*tree_first) == std::vector<std::string>{"/bin/sh"});
  CHECK(tree_first->reads().passes == 2);
  CHECK(tree_first->reads().opens == 1);

  // The archive is not opened again by name: gone after the first pass, the
  // tree still comes from what was opened.
  auto opened = open_source(ref);
  REQUIRE(opened->config());
  fs::remove(dir / "demo.tar");
  CHECK(at(opened->read_tree(), "/big"));
  CHECK(opened->reads().opens == 1);
}

TEST_CASE("docker-archive: the definition keeps the source its config came from", "[unit]") {
  temp_dir dir;
  const saved_image img = write_demo_archive(dir.path());
  write_file(dir / "element.json", R"({"name": "a", "from": "docker-archive:demo.tar"})");

  definition def = load_definition(dir / "element.json");
  REQUIRE(def.rootfs_source);
  CHECK(def.run.command == std::vector<std::string>{"/bin/sh"});
  source& from = open_rootfs_source(def);
  CHECK(&from == def.rootfs_source.get());
  CHECK(from.ref().text == "docker-archive:demo.tar");
  check_layered_tree(from.read_tree());
  CHECK(from.reads().opens == 1);
  CHECK(from.reads().passes == 1);

  // --from replaces "from" once, for the config and the tree alike.
  write_docker_archive(dir / "other.tar", {img});
  definition other =
      load_definition(dir / "element.json", "docker-archive:" + (dir / "other.tar").native());
  CHECK(open_rootfs_source(other).ref().path == dir / "other.tar");
  CHECK(open_rootfs_source(other).reads().passes == 1);
}
