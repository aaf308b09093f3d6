#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "builder/cli.hpp"
#include "builder/commands.hpp"
#include "elements/error.hpp"

using namespace elements;
using namespace elements::builder;

namespace {

struct args {
  explicit args(std::vector<std::string> words) : words_(std::move(words)) {
    words_.insert(words_.begin(), "elements-pack");
    for (auto& w : words_) argv_.push_back(w.data());
  }
  int argc() const { return static_cast<int>(argv_.size()); }
  char** argv() { return argv_.data(); }

 private:
  std::vector<std::string> words_;
  std::vector<char*> argv_;
};

pack_options parse(std::vector<std::string> words) {
  args a(std::move(words));
  return parse_cli(a.argc(), a.argv());
}

const command& found(std::vector<std::string> words) {
  args a(std::move(words));
  return find_command(a.argc(), a.argv());
}

}  // namespace

TEST_CASE("each command is found by its name and parses its own options", "[unit]") {
  const auto table = commands();
  REQUIRE(table.size() == 4);
  std::set<std::string_view> names;
  for (const command& c : table) {
    INFO(std::string(c.name));
    CHECK(names.insert(c.name).second);
    CHECK(c.parse != nullptr);
    CHECK(c.run != nullptr);
    CHECK_FALSE(c.usage.empty());
    CHECK_FALSE(c.summary.empty());
    if (c.name.empty()) continue;
    CHECK(&found({std::string(c.name)}) == &c);
    CHECK(&found({std::string(c.name), "--help"}) == &c);
    const pack_options o = parse({std::string(c.name), "--help"});
    CHECK(o.subcommand == &c);
    REQUIRE(o.answer);
    CHECK_THAT(*o.answer, Catch::Contains("Usage:\n  elements-pack " + std::string(c.name) + " "));
  }
  // Packing is the one without a name, and the last: what no name picks.
  CHECK(table.back().name.empty());
  CHECK(names.size() == table.size());
  CHECK(parse({"convert", "web.def"}).convert == std::filesystem::path("web.def"));
  CHECK(parse({"export", "element.json", "oci:out"}).export_to == "oci:out");
  CHECK(parse({"cache", "prune", "--all"}).cache->prune);
}

TEST_CASE("a word that names no command is packing's DEFINITION", "[unit]") {
  const command& pack = commands().back();
  CHECK(&found({}) == &pack);
  CHECK(&found({"nosuch"}) == &pack);
  CHECK(&found({"convert/"}) == &pack);
  CHECK(&found({"-q", "convert"}) == &pack);
  const pack_options o = parse({"nosuch"});
  CHECK(o.subcommand == &pack);
  CHECK(o.definition == "nosuch");
  CHECK_FALSE(o.convert);
  CHECK_FALSE(o.export_to);
  CHECK_FALSE(o.cache);
  CHECK_THROWS_WITH(parse({}), "missing DEFINITION (usage: elements-pack [OPTIONS] element.json)");
  // A command's own errors name the command and its help.
  try {
    parse({"cache", "--bogus"});
    FAIL("an unknown option was taken");
  } catch (const error& e) {
    CHECK(e.status() == exit_usage);
    CHECK_THAT(e.what(),
               Catch::Contains("bogus") && Catch::EndsWith("(see elements-pack cache --help)"));
  }
  CHECK_THROWS_WITH(parse({"cache", "frob"}),
                    "cache: say ls or prune (usage: elements-pack cache ls | prune [--all | "
                    "--older-than DAYS])");
  CHECK_THROWS_WITH(parse({"--bogus", "a"}), Catch::EndsWith("(see elements-pack --help)"));
}

TEST_CASE("elements-pack --help names every other command from the table", "[unit]") {
  const std::string help = *parse({"--help"}).answer;
  CHECK_THAT(help, Catch::Contains(
                       "\nDEFINITION is an element.json file, or a folder holding one.\n"
                       "elements-pack convert FILE.def prints the element.json of a .def file.\n"
                       "elements-pack export DEFINITION oci:DIR[:TAG] writes an OCI image "
                       "layout.\n"
                       "elements-pack cache ls | prune lists or removes cached build steps.\n"
                       "Exit status: 0 done, 1 the build failed, 2 bad definition or usage.\n"));
  for (const command& c : commands())
    if (!c.name.empty())
      CHECK_THAT(command_summaries(),
                 Catch::Contains("elements-pack " + std::string(c.name) + " " +
                                 std::string(c.usage) + " " + std::string(c.summary) + ".\n"));
}
