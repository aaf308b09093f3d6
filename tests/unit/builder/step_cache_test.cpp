// The step cache: keys that change with everything a step's result depends
// on, and entries stored, found, listed and pruned in a real folder.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "builder/steps/step_cache.hpp"
#include "builder/tree.hpp"
#include "test_support.hpp"

using namespace elements;
using namespace elements::builder;
using builder_test::temp_dir;
using builder_test::write_file;

namespace {

node_ptr small_tree() {
  const made_attrs attrs{0, 0, 1700000000};
  node_ptr root = make_dir(0755, attrs);
  root->entries["etc"] = make_dir(0755, attrs);
  root->entries["etc"]->entries["motd"] = make_file(0644, memory_file("hi\n", "motd"), attrs);
  return root;
}

}  // namespace

TEST_CASE("the tree digest changes with owners, modes and bytes", "[unit]") {
  const std::string base = tree_digest(small_tree());
  CHECK(tree_digest(small_tree()) == base);
  node_ptr t = small_tree();
  t->entries["etc"]->entries["motd"]->uid = 1000;
  CHECK(tree_digest(t) != base);
  t = small_tree();
  t->entries["etc"]->entries["motd"]->mode = S_IFREG | 0600;
  CHECK(tree_digest(t) != base);
  t = small_tree();
  t->entries["etc"]->entries["motd"]->content = memory_file("ho\n", "motd");
  CHECK(tree_digest(t) != base);
  t = small_tree();
  t->entries["etc"]->entries["motd"]->xattrs.emplace("user.x", std::string(1, '1'));
  CHECK(tree_digest(t) != base);
}

TEST_CASE("a step key chains the key before it, the step and its content", "[unit]") {
  const std::string k = step_key("base", R"({"run":"true"})", "ids");
  CHECK(k.size() == 64);
  CHECK(step_key("base", R"({"run":"true"})", "ids") == k);
  CHECK(step_key("base2", R"({"run":"true"})", "ids") != k);
  CHECK(step_key("base", R"({"run":"false"})", "ids") != k);
  CHECK(step_key("base", R"({"run":"true"})", "other ids") != k);
  // Fields are separated: moving bytes from one to the next is another key.
  CHECK(step_key("base", std::string(R"({"run":"true"})") + "i", "ds") != k);
}

TEST_CASE("cache entries are stored whole, found, listed and pruned", "[unit]") {
  temp_dir dir;
  const step_cache cache(dir.path());
  const std::string key(64, 'a'), other(64, 'b');
  CHECK_FALSE(cache.find(key));
  CHECK(cache.list().empty());

  write_file(dir / "layer.tar", "layer bytes");
  unique_fd layer(::open((dir / "layer.tar").c_str(), O_RDONLY | O_CLOEXEC));
  cache.store(key, layer.get(), "run echo hi");
  cache.store(other, layer.get(), "run echo ho");
  // Nothing but the entries: no temp file is left.
  CHECK(std::distance(std::filesystem::directory_iterator(dir / "elements" / "steps"),
                      std::filesystem::directory_iterator()) == 4);

  unique_fd found = cache.find(key);
  REQUIRE(found);
  char buf[32] = {};
  CHECK(::read(found.get(), buf, sizeof buf) == 11);
  CHECK(std::string(buf) == "layer bytes");

  // Last used 10 days ago: pruned by an age of 5 days, the other kept.
  const std::string tar = (dir / "elements" / "steps" / (other + ".tar")).native();
  const timespec old[2] = {{::time(nullptr) - 10 * 86400, 0}, {::time(nullptr) - 10 * 86400, 0}};
  REQUIRE(::utimensat(AT_FDCWD, tar.c_str(), old, 0) == 0);
  auto entries = cache.list();
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].key == key);  // most recently used first
  CHECK(entries[0].summary == "run echo hi");
  CHECK(entries[0].size == 11);
  auto removed = cache.prune(::time(nullptr) - 5 * 86400);
  REQUIRE(removed.size() == 1);
  CHECK(removed[0].key == other);
  CHECK_FALSE(cache.find(other));
  CHECK(cache.prune(std::nullopt).size() == 1);
  CHECK(cache.list().empty());
}
