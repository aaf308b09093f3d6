#include <catch2/catch.hpp>

#include "builder/progress.hpp"

using namespace elements::builder;

TEST_CASE("progress sizes read as people write them", "[unit]") {
  CHECK(human_bytes(0) == "0 B");
  CHECK(human_bytes(1023) == "1023 B");
  CHECK(human_bytes(512 * 1024) == "512 KiB");
  CHECK(human_bytes(12.34 * 1024 * 1024) == "12.3 MiB");
  CHECK(human_bytes(3.0 * 1024 * 1024 * 1024) == "3.0 GiB");
}
