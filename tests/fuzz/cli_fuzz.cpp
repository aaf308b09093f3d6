// The file's own command line (runtime/cli/cli.cpp): a spec and the words given
// to the file, parsed into a plan, and the --help made from the spec.
//
// Input: the spec's JSON text, a NUL, then the words, each ended by a NUL.
// Properties: bad words are refused with exit status 2 (usage_error) and
// nothing else; a plan has a command, absolute workdir and bind targets, a
// hostname the kernel takes, ELEMENTS_ID = NAME.INSTANCE and NAME=value
// environment entries.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "elements/spec.hpp"
#include "fuzz_support.hpp"
#include "runtime/cli/cli.hpp"

using namespace elements;
using namespace elements::runtime;
using json = nlohmann::json;

namespace {

void check_plan(const plan& p) {
  fuzz::require(!p.argv.empty() && !p.argv[0].empty(), "the plan has a command");
  fuzz::require(p.workdir.starts_with('/'), "the workdir is absolute");
  fuzz::require(p.hostname.size() <= 64, "the hostname fits HOST_NAME_MAX");
  fuzz::require(p.id == p.name + "." + p.instance, "ELEMENTS_ID is NAME.INSTANCE");
  for (const auto& b : p.binds)
    fuzz::require(b.source.starts_with('/') && b.target.starts_with('/'),
                  "bind sources and targets are absolute");
  for (const auto& e : p.env)
    fuzz::require(e.find('=') != std::string::npos && e.front() != '=',
                  "env entries are NAME=value");
  if (p.output) fuzz::require(p.output->starts_with('/'), "the output path is absolute");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t end = input.find('\0');
  if (end == std::string_view::npos) return -1;
  const json doc = json::parse(input.substr(0, end), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return -1;
  spec s;
  try {
    s = parse_spec(doc);
  } catch (const error&) {
    return -1;  // the spec fuzzer's ground
  }

  std::vector<std::string> words;
  for (std::size_t at = end + 1; at < input.size();) {
    std::size_t next = input.find('\0', at);
    if (next == std::string_view::npos) next = input.size();
    words.emplace_back(input.substr(at, next - at));
    at = next + 1;
  }
  const host_context host{{"HOME=/root", "TZ=Europe/Paris", "LANG=C.UTF-8", "EMPTY=", "TERM=dumb"},
                          "/tmp",
                          "/tmp/app.AppImage",
                          1000,
                          1000};
  fuzz::require(!help_text(s, host.argv0).empty(), "--help says something");
  try {
    const invocation inv = parse_command_line(s, words, host);
    if (inv.what == action::run) check_plan(inv.run);
    if (inv.what == action::exec)
      fuzz::require(!inv.exec_id.empty() && !inv.exec_argv.empty(), "exec has an ID and a command");
  } catch (const error& e) {
    fuzz::require_status(e, exit_usage);
  }
  return 0;
}
