// The runtime spec's parser and validator (common/src/spec.cpp) on arbitrary
// JSON text: .elements/spec.json is read from the file the user runs, and
// "run" of every definition goes through the same parse_spec().
//
// Properties: a refusal is an elements::error with exit status 125 (never
// another exception); an accepted spec survives to_json() and parse_spec()
// unchanged, and its numbers are the ones the document holds.
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "elements/spec.hpp"
#include "fuzz_support.hpp"

using namespace elements;
using json = nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return -1;  // not JSON: the runtime stops before parse_spec

  spec s;
  try {
    s = parse_spec(doc);
  } catch (const error& e) {
    fuzz::require_status(e, exit_start_failed);
    return 0;
  }
  const json out = to_json(s);
  fuzz::require(to_json(parse_spec(out)) == out, "to_json(parse_spec(to_json(s))) == to_json(s)");
  fuzz::require(out["version"] == doc["version"], "the version read is the one written");
  if (doc.contains("ps1Color"))
    fuzz::require(json(s.ps1_color) == doc["ps1Color"], "the ps1Color read is the one written");
  fuzz::require(s.args.size() == doc.value("args", json::array()).size(), "every arg is kept");
  return 0;
}
