// The name, integer and bool rules the spec, the runtime's command line and
// the builder share.

#include "elements/syntax.hpp"

#include <catch2/catch.hpp>

using namespace elements;

TEST_CASE("is_element_name: [0-9A-Za-z_+.-]+ but not . or ..") {
  for (const char* ok : {"web", "Web-2", "a.b", "x_y+z", "0", "..."}) CHECK(is_element_name(ok));
  for (const char* bad : {"", ".", "..", "a/b", "a b", "ä", "a:b"})
    CHECK_FALSE(is_element_name(bad));
}

TEST_CASE("is_identifier: a letter or _ first, then letters, digits and _") {
  for (const char* ok : {"A", "_", "PATH", "a1", "_x_2"}) CHECK(is_identifier(ok));
  for (const char* bad : {"", "1a", "a-b", "-a", "a.b", "a b"}) CHECK_FALSE(is_identifier(bad));
  CHECK(is_identifier("dry-run", true));
  CHECK_FALSE(is_identifier("-dry", true));
  CHECK_FALSE(is_identifier("dry-run", false));
}

TEST_CASE("is_int: an optional sign and digits") {
  for (const char* ok : {"0", "42", "-7", "+7", "007"}) CHECK(is_int(ok));
  for (const char* bad : {"", "+", "-", "1.5", "1e3", " 1", "1 ", "0x1", "--1"})
    CHECK_FALSE(is_int(bad));
}

TEST_CASE("parse_bool: the bool words in any case") {
  for (const char* yes : {"true", "TRUE", "True", "1", "yes", "YES"})
    CHECK(parse_bool(yes) == true);
  for (const char* no : {"false", "FALSE", "0", "no", "No", ""}) CHECK(parse_bool(no) == false);
  for (const char* bad : {"y", "n", "on", "off", "2", " true", "truee"})
    CHECK_FALSE(parse_bool(bad).has_value());
}
