#include "builder/cli.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <string_view>
#include <vector>

#include <cxxopts.hpp>

#include "builder/commands.hpp"
#include "elements/error.hpp"

namespace elements::builder {
namespace {

// Parses argv; a word cxxopts refuses is a usage error pointing at `help`.
cxxopts::ParseResult parse_or_usage(cxxopts::Options& spec, int argc, char** argv,
                                    const char* help) {
  try {
    return spec.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    throw usage_error(std::string(e.what()) + " (see " + help + ")");
  }
}

// `elements-pack NAME [OPTIONS] POSITIONAL`: the options every subcommand
// has in common; its words are words_of() the parse.
cxxopts::Options subcommand(const char* name, const char* about, const char* positional) {
  cxxopts::Options spec(std::string("elements-pack ") + name, about);
  spec.custom_help("[OPTIONS]");
  spec.positional_help(positional);
  spec.add_options("positional")("words", "", cxxopts::value<std::vector<std::string>>());
  spec.parse_positional({"words"});
  return spec;
}

std::vector<std::string> words_of(const cxxopts::ParseResult& r) {
  return r.count("words") ? r["words"].as<std::vector<std::string>>() : std::vector<std::string>{};
}

// --source-date-epoch, else SOURCE_DATE_EPOCH, else none.
std::optional<std::int64_t> epoch_option(const cxxopts::ParseResult& r) {
  if (r.count("source-date-epoch"))
    return parse_epoch(r["source-date-epoch"].as<std::string>(), "--source-date-epoch");
  if (const char* env = std::getenv("SOURCE_DATE_EPOCH"); env && *env)
    return parse_epoch(env, "SOURCE_DATE_EPOCH");
  return std::nullopt;
}

cxxopts::Options make_options() {
  cxxopts::Options o("elements-pack",
                     "Packs a root filesystem and a definition (element.json) into one executable "
                     "file that runs as a rootless container.");
  o.custom_help("[OPTIONS]");
  o.positional_help("DEFINITION");
  auto add = o.add_options();
  add("o,output", "write FILE instead of NAME.AppImage", cxxopts::value<std::string>(), "FILE");
  add("from",
      "take the rootfs from SOURCE instead of the definition's \"from\" (dir:PATH | tar:PATH | "
      "oci:PATH[:REF] | docker-archive:PATH[:REF] | scratch)",
      cxxopts::value<std::string>(), "SOURCE");
  add("compression", "zstd[:LEVEL] (default zstd:9), xz[:LEVEL], gzip[:LEVEL] or lz4",
      cxxopts::value<std::string>(), "ALGO");
  add("runtime", "use this runtime instead of the embedded one", cxxopts::value<std::string>(),
      "FILE");
  add("source-date-epoch",
      "clamp every timestamp to N seconds since 1970 for reproducible output (default: "
      "$SOURCE_DATE_EPOCH)",
      cxxopts::value<std::string>(), "N");
  add("sign",
      "sign the file with this GnuPG secret key (id, fingerprint or user id), as appimagetool "
      "--sign does",
      cxxopts::value<std::string>(), "KEY");
  add("no-cache", "do not reuse cached build steps");
  add("check", "validate the definition and print the resolved spec; write nothing");
  add("progress",
      "a status line redrawn in place (bytes compressed, rate, time left): auto (when stderr is "
      "a terminal), always or never; each phase is a line either way",
      cxxopts::value<std::string>(), "WHEN");
  add("q,quiet", "print errors only");
  add("V,version", "print the version");
  add("h,help", "print this help");
  o.add_options("positional")("definition", "", cxxopts::value<std::vector<std::string>>());
  o.parse_positional({"definition"});
  return o;
}

}  // namespace

// `elements-pack convert [-q] FILE.def`, argv starting at "convert".
pack_options parse_convert_cli(int argc, char** argv) {
  cxxopts::Options spec =
      subcommand("convert",
                 "Prints the element.json equivalent of a Singularity/Apptainer "
                 "definition with #Elements. header lines (the original "
                 "Elements format).",
                 "FILE.def");
  spec.add_options()("q,quiet", "print errors only, no warnings")("h,help", "print this help");
  const cxxopts::ParseResult r = parse_or_usage(spec, argc, argv, "elements-pack convert --help");
  pack_options o;
  if (r.count("help")) {
    o.answer = spec.help({""}) +
               "\nSave it beside FILE.def, whose folder relative paths start from:\n"
               "  elements-pack convert web.def > element.json\n"
               "Warnings on stderr name what did not carry over.\n"
               "Exit status: 0 done, 2 a line that cannot be converted (FILE:LINE: why).\n";
    return o;
  }
  const auto positional = words_of(r);
  if (positional.size() != 1)
    throw usage_error(positional.empty() ? "convert: missing FILE.def (usage: elements-pack "
                                           "convert FILE.def > element.json)"
                                         : "convert: one FILE.def at a time; \"" + positional[1] +
                                               "\" is one too many");
  o.convert = positional[0];
  o.quiet = r.count("quiet") > 0;
  return o;
}

// `elements-pack export [OPTIONS] DEFINITION oci:DIR[:TAG]`, argv starting at "export".
pack_options parse_export_cli(int argc, char** argv) {
  cxxopts::Options spec = subcommand("export",
                                     "Writes the element as an OCI image layout (one layer, the "
                                     "definition's \"run\" as the image config) for podman, "
                                     "skopeo or Kubernetes.",
                                     "DEFINITION oci:DIR[:TAG]");
  spec.add_options()("from", "take the rootfs from SOURCE instead of the definition's \"from\"",
                     cxxopts::value<std::string>(),
                     "SOURCE")("source-date-epoch",
                               "clamp every timestamp to N seconds since 1970 (default: "
                               "$SOURCE_DATE_EPOCH)",
                               cxxopts::value<std::string>(),
                               "N")("q,quiet", "print errors only")("h,help", "print this help");
  const cxxopts::ParseResult r = parse_or_usage(spec, argc, argv, "elements-pack export --help");
  pack_options o;
  if (r.count("help")) {
    o.answer = spec.help({""}) +
               "\nTAG defaults to latest. DIR must be new or an empty folder.\n"
               "  elements-pack export element.json oci:web-image:1.0\n"
               "  podman run --rm oci:web-image:1.0\n"
               "Exit status: 0 done, 1 the export failed, 2 bad definition or usage.\n";
    return o;
  }
  const auto words = words_of(r);
  if (words.size() != 2)
    throw usage_error(words.size() < 2 ? "export: give a DEFINITION and a target (usage: "
                                         "elements-pack export element.json oci:DIR[:TAG])"
                                       : "export: \"" + words[2] + "\" is one word too many");
  o.definition = words[0];
  o.export_to = words[1];
  if (r.count("from")) o.from = r["from"].as<std::string>();
  o.source_date_epoch = epoch_option(r);
  o.quiet = r.count("quiet") > 0;
  return o;
}

// `elements-pack cache ls` and `elements-pack cache prune [--all | --older-than
// DAYS]`, argv starting at "cache".
pack_options parse_cache_cli(int argc, char** argv) {
  cxxopts::Options spec = subcommand("cache",
                                     "Lists or removes the cached results of build steps in "
                                     "${XDG_CACHE_HOME:-~/.cache}/elements/steps.",
                                     "ls | prune [--all | --older-than DAYS]");
  spec.add_options()("all", "prune: remove every entry")(
      "older-than", "prune: remove entries last used more than DAYS days ago",
      cxxopts::value<std::string>(), "DAYS")("h,help", "print this help");
  const cxxopts::ParseResult r = parse_or_usage(spec, argc, argv, "elements-pack cache --help");
  pack_options o;
  if (r.count("help")) {
    o.answer = spec.help({""}) +
               "\nls prints one entry a line: KEY (first 12 digits), SIZE, LAST USED, STEP.\n"
               "Exit status: 0 done, 1 the cache could not be read or changed, 2 bad usage.\n";
    return o;
  }
  const auto words = words_of(r);
  if (words.size() != 1 || (words[0] != "ls" && words[0] != "prune"))
    throw usage_error(
        "cache: say ls or prune (usage: elements-pack cache ls | prune [--all | "
        "--older-than DAYS])");
  pack_options::cache_command c;
  c.prune = words[0] == "prune";
  const bool all = r.count("all") > 0, older = r.count("older-than") > 0;
  if (!c.prune && (all || older))
    throw usage_error("cache ls: --all and --older-than belong to cache prune");
  if (c.prune && all == older)
    throw usage_error("cache prune: give --all or --older-than DAYS (one of them)");
  if (older) {
    const auto days = r["older-than"].as<std::string>();
    if (days.empty() || days.size() > 6 ||
        !std::all_of(days.begin(), days.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      throw usage_error("cache prune: --older-than: \"" + days +
                        "\" is not a number of days, such as 30");
    c.older_than_days = std::stoll(days);
  }
  o.cache = c;
  return o;
}

std::int64_t parse_epoch(const std::string& text, const std::string& where) {
  const bool digits =
      !text.empty() && text.size() <= 10 &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  const std::int64_t v = digits ? std::stoll(text) : -1;
  if (v < 0 || v > std::numeric_limits<std::uint32_t>::max())
    throw usage_error(where + ": \"" + text +
                      "\" is not a time in seconds since 1970 (from 0 to 4294967295)");
  return v;
}

pack_options parse_cli(int argc, char** argv) {
  const command& chosen = find_command(argc, argv);
  // A command's own argv starts at its word; packing's at the program.
  const int shift = chosen.name.empty() ? 0 : 1;
  pack_options o = chosen.parse(argc - shift, argv + shift);
  o.subcommand = &chosen;
  return o;
}

pack_options parse_pack_cli(int argc, char** argv) {
  auto spec = make_options();
  const cxxopts::ParseResult r = parse_or_usage(spec, argc, argv, "elements-pack --help");
  pack_options o;
  if (r.count("help")) {
    o.answer = spec.help({""}) +
               "\nDEFINITION is an element.json file, or a folder holding one.\n" +
               command_summaries() +
               "Exit status: 0 done, 1 the build failed, 2 bad definition or usage.\n";
    return o;
  }
  if (r.count("version")) {
    o.answer = std::string("elements-pack ") + ELEMENTS_VERSION + "\n";
    return o;
  }
  const auto positional = r.count("definition") ? r["definition"].as<std::vector<std::string>>()
                                                : std::vector<std::string>{};
  if (positional.empty())
    throw usage_error("missing DEFINITION (usage: elements-pack [OPTIONS] element.json)");
  if (positional.size() > 1)
    throw usage_error("one DEFINITION at a time; \"" + positional[1] + "\" is one too many");
  o.definition = positional[0];
  if (r.count("output")) o.output = r["output"].as<std::string>();
  if (r.count("from")) o.from = r["from"].as<std::string>();
  o.comp = parse_compression(r.count("compression") ? r["compression"].as<std::string>() : "zstd");
  if (r.count("runtime")) o.runtime = r["runtime"].as<std::string>();
  if (r.count("sign")) o.sign = r["sign"].as<std::string>();
  o.source_date_epoch = epoch_option(r);
  o.no_cache = r.count("no-cache") > 0;
  o.check = r.count("check") > 0;
  o.quiet = r.count("quiet") > 0;
  if (r.count("progress")) {
    const auto p = r["progress"].as<std::string>();
    const auto mode = value_of(progress_modes, p);
    if (!mode)
      throw usage_error("--progress: \"" + p + "\" is not one of " + names_of(progress_modes));
    o.progress = *mode;
  }
  return o;
}

}  // namespace elements::builder
