// Expansion of spec strings (common/src/expand.cpp): ${NAME:-word} and the
// rest, nested, on arbitrary text with names set, empty and unset.
//
// Properties: check_expansion() (what elements-pack and the spec's
// validation run) accepts exactly the text expand() can expand: after it
// accepts, expand() fails only for ${NAME:?message}; after it refuses,
// expand() fails too. Text without "$" expands to itself.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "elements/expand.hpp"
#include "fuzz_support.hpp"

using namespace elements;

namespace {

// Names starting with U are unset, with E empty; others are their own
// value with a "$" in it, which expansion must not expand again.
std::optional<std::string> lookup(std::string_view name) {
  if (name.starts_with('U')) return std::nullopt;
  if (name.starts_with('E')) return std::string();
  return "<" + std::string(name) + "$" + std::string(name) + ">";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  bool valid = true;
  try {
    check_expansion(text);
  } catch (const expand_error& e) {
    fuzz::require(!e.unset(), "check_expansion() never looks a name up");
    fuzz::require_status(e, exit_start_failed);
    valid = false;
  }
  try {
    const std::string out = expand(text, lookup);
    fuzz::require(valid, "expand() accepts only what check_expansion() accepts");
    if (text.find('$') == std::string_view::npos)
      fuzz::require(out == text, "text without $ expands to itself");
  } catch (const expand_error& e) {
    if (valid) fuzz::require(e.unset(), "after check_expansion(), only ${NAME:?} fails");
  }
  return 0;
}
