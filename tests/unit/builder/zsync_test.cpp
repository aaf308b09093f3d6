// Which update information asks for a .zsync beside the file.
#include <catch2/catch.hpp>

#include "builder/publish/zsync.hpp"

using namespace elements::builder;

TEST_CASE("zsync transports ask for a .zsync beside the file", "[unit]") {
  CHECK(wants_zsync("zsync|https://example.org/app-latest.AppImage.zsync"));
  CHECK(wants_zsync("gh-releases-zsync|owner|repo|latest|app-*x86_64.AppImage.zsync"));
  CHECK(wants_zsync("pling-v1-zsync|1234567|app-*.AppImage"));
  CHECK_FALSE(wants_zsync(""));
  CHECK_FALSE(wants_zsync("zsync"));  // no URL: not update information at all
  CHECK_FALSE(wants_zsync("http|https://example.org/app.zsync"));
}
