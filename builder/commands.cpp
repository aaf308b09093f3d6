// The command table (commands.hpp), and the bodies of the commands that
// are a few lines: convert and cache.
#include "builder/commands.hpp"

#include <ctime>
#include <iostream>

#include "builder/definition/convert.hpp"
#include "builder/progress.hpp"
#include "builder/steps/step_cache.hpp"
#include "elements/error.hpp"

namespace elements::builder {
namespace {

constexpr command table[] = {
    {"convert", "FILE.def", "prints the element.json of a .def file", parse_convert_cli,
     run_convert},
    {"export", "DEFINITION oci:DIR[:TAG]", "writes an OCI image layout", parse_export_cli,
     run_export},
    {"cache", "ls | prune", "lists or removes cached build steps", parse_cache_cli, run_cache},
    {"", "[OPTIONS] DEFINITION", "packs a definition into one executable file", parse_pack_cli,
     run_pack},
};

}  // namespace

std::span<const command> commands() {
  return table;
}

const command& find_command(int argc, char** argv) {
  const std::string_view word = argc > 1 ? argv[1] : "";
  for (const command& c : table)
    if (c.name.empty() || c.name == word) return c;
  return table[std::size(table) - 1];
}

std::string command_summaries() {
  std::string out;
  for (const command& c : table)
    if (!c.name.empty())
      out += "elements-pack " + std::string(c.name) + " " + std::string(c.usage) + " " +
             std::string(c.summary) + ".\n";
  return out;
}

// Migration from .def files: the element.json on stdout, what did not carry
// over on stderr.
int run_convert(const pack_options& opt) {
  const conversion result = convert_def_file(*opt.convert);
  progress say(progress_mode::never, opt.quiet);
  for (const auto& warning : result.warnings) say.warn(warning);
  std::cout << result.element.dump(2) << '\n';
  return exit_ok;
}

// `elements-pack cache ls|prune`: the step cache, listed or trimmed.
int run_cache(const pack_options& opt) {
  const auto& c = *opt.cache;
  const auto dir = step_cache_dir();
  if (!dir)
    throw error("no step cache: neither XDG_CACHE_HOME nor HOME is an absolute path",
                exit_build_failed);
  const step_cache store(*dir);
  if (!c.prune) {
    for (const auto& e : store.list()) {
      char when[32];
      const std::time_t t = e.last_used;
      std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
      std::cout << e.key.substr(0, 12) << "  " << e.size << "  " << when << "  " << e.summary
                << '\n';
    }
    return exit_ok;
  }
  std::optional<std::int64_t> before;
  if (c.older_than_days) before = std::time(nullptr) - *c.older_than_days * 86400;
  std::uint64_t bytes = 0;
  const auto removed = store.prune(before);
  for (const auto& e : removed) bytes += e.size;
  std::cerr << "elements-pack: removed " << removed.size() << " cached step(s), " << bytes
            << " bytes, from " << store.dir().native() << '\n';
  return exit_ok;
}

}  // namespace elements::builder
