#include "elements/expand.hpp"

#include <catch2/catch.hpp>
#include <map>

using elements::check_expansion;
using elements::expand;
using elements::expand_error;

namespace {

// A = "a", EMPTY = "", SPACE = "x y", DOLLAR = "$B"; everything else unset.
std::string ex(std::string_view text) {
  static const std::map<std::string, std::string, std::less<>> vars = {
      {"A", "a"}, {"EMPTY", ""}, {"SPACE", "x y"}, {"DOLLAR", "$B"}, {"B", "b"}, {"_u9", "u"}};
  return expand(text, [](std::string_view n) -> std::optional<std::string> {
    if (auto it = vars.find(n); it != vars.end()) return it->second;
    return std::nullopt;
  });
}

std::string error_of(std::string_view text) {
  try {
    ex(text);
  } catch (const expand_error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("text without $ is left alone", "[unit][expand]") {
  CHECK(ex("") == "");
  CHECK(ex("plain text, {braces} and }") == "plain text, {braces} and }");
}

TEST_CASE("$NAME and ${NAME} give the value, unset gives nothing", "[unit][expand]") {
  CHECK(ex("$A") == "a");
  CHECK(ex("${A}") == "a");
  CHECK(ex("x$A.txt") == "xa.txt");
  CHECK(ex("${A}b") == "ab");
  CHECK(ex("$Ab") == "");  // the name is "Ab", unset
  CHECK(ex("$_u9-") == "u-");
  CHECK(ex("[$UNSET]") == "[]");
  CHECK(ex("${UNSET}") == "");
}

TEST_CASE("$$ is a literal $", "[unit][expand]") {
  CHECK(ex("$$") == "$");
  CHECK(ex("$$A") == "$A");
  CHECK(ex("a$$$A") == "a$a");
  CHECK(ex("$${A}") == "${A}");
}

TEST_CASE("${NAME:-word} and ${NAME-word}", "[unit][expand]") {
  CHECK(ex("${A:-w}") == "a");
  CHECK(ex("${EMPTY:-w}") == "w");
  CHECK(ex("${UNSET:-w}") == "w");
  CHECK(ex("${A-w}") == "a");
  CHECK(ex("${EMPTY-w}") == "");
  CHECK(ex("${UNSET-w}") == "w");
  CHECK(ex("${UNSET:-}") == "");
  CHECK(ex("${UNSET:-a b  c}") == "a b  c");
}

TEST_CASE("${NAME:+word} and ${NAME+word}", "[unit][expand]") {
  CHECK(ex("${A:+w}") == "w");
  CHECK(ex("${EMPTY:+w}") == "");
  CHECK(ex("${UNSET:+w}") == "");
  CHECK(ex("${EMPTY+w}") == "w");
  CHECK(ex("${UNSET+w}") == "");
}

TEST_CASE("${NAME:?message} fails naming NAME and the message", "[unit][expand]") {
  CHECK(ex("${A:?set A}") == "a");
  CHECK(error_of("${UNSET:?set UNSET to your token}") == "UNSET: set UNSET to your token");
  CHECK(error_of("${EMPTY:?must not be empty}") == "EMPTY: must not be empty");
  CHECK(error_of("${UNSET:?}") == "UNSET: is not set");
  CHECK(ex("${EMPTY?unset}") == "");
  CHECK(error_of("${UNSET?unset}") == "UNSET: unset");
  try {
    ex("${UNSET:?x}");
    FAIL("no error");
  } catch (const expand_error& e) {
    CHECK(e.unset());
  }
}

TEST_CASE("words nest", "[unit][expand]") {
  CHECK(ex("${UNSET:-${A}}") == "a");
  CHECK(ex("${UNSET:-x$A}") == "xa");
  CHECK(ex("${UNSET:-${EMPTY:-${B}}}/c") == "b/c");
  CHECK(ex("${A:+[$A]}") == "[a]");
  CHECK(ex("${UNSET:-$$}") == "$");
  CHECK(ex("${UNSET:-${A:+yes}-${B}}") == "yes-b");
  CHECK(error_of("${UNSET:-${NOPE:?need NOPE}}") == "NOPE: need NOPE");
  CHECK(error_of("${UNSET:-x${NOPE:?m}}") == "NOPE: m");
}

TEST_CASE("words of operators not taken are never looked up", "[unit][expand]") {
  CHECK(ex("${A:-${NOPE:?never}}") == "a");
  CHECK(ex("${UNSET:+${NOPE:?never}}") == "");
  CHECK(ex("${A:?${NOPE:?never}}") == "a");
}

TEST_CASE("a value stays one string: no re-expansion or splitting", "[unit][expand]") {
  CHECK(ex("$SPACE") == "x y");
  CHECK(ex("$DOLLAR") == "$B");
  CHECK(ex("${UNSET:-$DOLLAR}") == "$B");
  CHECK(ex("*") == "*");
  CHECK(ex("$$(echo hi) *.txt") == "$(echo hi) *.txt");
}

TEST_CASE("malformed text is an error quoting it", "[unit][expand]") {
  CHECK(error_of("abc$") == "\"abc$\": \"$\" at the end (write \"$$\" for a literal \"$\")");
  CHECK(error_of("$") == "\"$\": \"$\" at the end (write \"$$\" for a literal \"$\")");
  CHECK(error_of("x ${A") == "\"x ${A\": \"${\" at offset 2 is not closed by \"}\"");
  CHECK(error_of("${A:-x") == "\"${A:-x\": \"${\" at offset 0 is not closed by \"}\"");
  CHECK(error_of("${A:-${B}") == "\"${A:-${B}\": \"${\" at offset 0 is not closed by \"}\"");
  CHECK(error_of("${") == "\"${\": \"${\" has no valid variable name ([A-Za-z_][A-Za-z0-9_]*)");
  CHECK(error_of("${}") == "\"${}\": \"${}\" has no valid variable name ([A-Za-z_][A-Za-z0-9_]*)");
  CHECK(error_of("a ${1x} b") ==
        "\"a ${1x} b\": \"${1x}\" has no valid variable name ([A-Za-z_][A-Za-z0-9_]*)");
  CHECK(error_of("cost $5") ==
        "\"cost $5\": \"$5\" is not a variable (write \"$$\" for a literal \"$\")");
  CHECK(error_of("$(date)") ==
        "\"$(date)\": \"$(\" is not a variable (write \"$$\" for a literal \"$\")");
  CHECK_THAT(error_of("${A%.txt}"),
             Catch::StartsWith("\"${A%.txt}\": \"${A%...\" is not a supported expansion"));
  CHECK_THAT(error_of("${A:x}"), Catch::StartsWith("\"${A:x}\": \"${A:x...\" is not a supported"));
  CHECK_THAT(error_of("${A:"), Catch::Contains("is not closed"));
  CHECK_THAT(error_of("${UNSET:-$}"), Catch::Contains("is not a variable"));
}

TEST_CASE("malformed text fails even where it would not be expanded", "[unit][expand]") {
  CHECK_THROWS_AS(ex("${A:-${}"), expand_error);
  CHECK_THROWS_AS(ex("${A:-$}"), expand_error);
}

TEST_CASE("check_expansion checks syntax without looking anything up", "[unit][expand]") {
  CHECK_NOTHROW(check_expansion("${A:-${B:?no}} $C $$ ${D:+x}"));
  CHECK_NOTHROW(check_expansion("no dollars"));
  CHECK_THROWS_AS(check_expansion("${A"), expand_error);
  CHECK_THROWS_AS(check_expansion("tail$"), expand_error);
  CHECK_THROWS_AS(check_expansion("${A/x/y}"), expand_error);
}

TEST_CASE("is_expansion_name", "[unit][expand]") {
  CHECK(elements::is_expansion_name("PORT"));
  CHECK(elements::is_expansion_name("_a1"));
  CHECK_FALSE(elements::is_expansion_name(""));
  CHECK_FALSE(elements::is_expansion_name("1a"));
  CHECK_FALSE(elements::is_expansion_name("dry-run"));
}

TEST_CASE("deeply nested words are an error, not a stack overflow", "[unit][expand]") {
  // 13000 levels overflowed the stack (found by elements-fuzz-expand).
  auto nested = [](int levels) {
    std::string text;
    for (int i = 0; i < levels; ++i) text += "${UNSET:-";
    return text + "x" + std::string(static_cast<std::size_t>(levels), '}');
  };
  CHECK(ex(nested(64)) == "x");
  CHECK_THAT(error_of(nested(65)),
             Catch::EndsWith("\"${\" at offset 576 nests deeper than 64 levels (simplify the "
                             "expansion)"));
  CHECK_THROWS_AS(check_expansion(nested(13000)), expand_error);
  CHECK_THROWS_AS(ex(nested(13000)), expand_error);
}
