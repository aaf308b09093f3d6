// The definition parser (builder/definition/definition.cpp) on arbitrary text:
// comments, JSON syntax errors and their line and column, the schema, build
// steps, desktop options and the "run" spec.
//
// The definition lies in tests/fuzz/definition/, which holds the files its
// seeds copy and use as icons. The source is fixed to "scratch" (as --from
// does), so no image is opened; "from" itself is then resolved like
// elements-pack does, which only looks at the path.
//
// Properties: a bad definition is refused with exit status 2 (usage_error),
// never another exception; an accepted one has a valid name, absolute copy
// targets and modes that are permission bits.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "builder/definition/definition.hpp"
#include "fuzz_support.hpp"

using namespace elements;
using namespace elements::builder;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::filesystem::path file =
      std::filesystem::path(ELEMENTS_FUZZ_DEFINITION_DIR) / "element.json";
  const std::optional<std::string> scratch = "scratch";
  definition def;
  try {
    def = parse_definition(text, file, scratch);
  } catch (const error& e) {
    fuzz::require_status(e, exit_usage);
    return 0;
  }
  fuzz::require(!def.name.empty() && def.name == def.run.name, "the spec is named after /name");
  for (const auto& step : def.build) {
    fuzz::require(step.copy.has_value() != step.run.has_value(), "a step copies or runs");
    if (step.run) fuzz::require(!step.run->argv.empty(), "run steps have a command");
    if (!step.copy) continue;
    fuzz::require(step.copy->target.starts_with('/'), "copy targets are absolute");
    if (step.copy->mode) fuzz::require(*step.copy->mode <= 07777, "modes are permission bits");
  }
  fuzz::require(def.update_information.size() <= max_update_information,
                "the update information fits its section");
  if (def.from) {
    try {
      resolve_source(def, std::nullopt);
    } catch (const error& e) {
      fuzz::require_status(e, exit_usage);
    }
  }
  return 0;
}
