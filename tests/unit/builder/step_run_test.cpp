// The parts of running a build step that need no container: subordinate id
// ranges as /etc/subuid and /etc/subgid grant them.
#include <catch2/catch.hpp>

#include "builder/steps/step_run.hpp"

using namespace elements::builder;

TEST_CASE("subordinate id ranges are found by user name or id", "[unit]") {
  const std::string text =
      "# comment\nother:100000:65536\nbuilder:165536:65536\n1001:231072:1000\nbad:x:5\n";
  auto r = find_id_range(text, "builder", 1000);
  REQUIRE(r);
  CHECK(r->start == 165536);
  CHECK(r->count == 65536);
  r = find_id_range(text, "nobody-here", 1001);
  REQUIRE(r);
  CHECK(r->start == 231072);
  CHECK(r->count == 1000);
  CHECK_FALSE(find_id_range(text, "bad", 7));
  CHECK_FALSE(find_id_range(text, "missing", 4242));
  CHECK_FALSE(find_id_range("", "builder", 1000));
  CHECK_FALSE(find_id_range("builder:1:0\n", "builder", 1000));  // an empty range grants nothing
}
