// The runtime's own words (--help, --elements-*; DESIGN.md section 3), taken
// before the spec's args are read so that no spec can shadow them.
#include <algorithm>

#include "elements/error.hpp"
#include "elements/syntax.hpp"
#include "runtime/cli/cli_words.hpp"

namespace elements::runtime {

reserved_words scan_reserved(const std::vector<std::string>& args) {
  reserved_words r;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      r.extra.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (a == "-h" || a == "--help") {
      r.what = action::help;
    } else if (a == "--elements-spec") {
      if (r.what != action::help) r.what = action::spec;
    } else if (a == "--elements-debug") {
      // Taken here so it is no spec option; debug_requested decides.
    } else if (a == "--elements-shell") {
      r.shell = true;
    } else if (a == "--elements-oci-bundle" || a.rfind("--elements-oci-bundle=", 0) == 0) {
      if (a.size() > 21)
        r.bundle_dir = a.substr(22);
      else if (i + 1 < args.size())
        r.bundle_dir = args[++i];
      if (r.bundle_dir.empty() || r.bundle_dir == "--")
        throw usage_error(
            "--elements-oci-bundle: give the folder to write the bundle to "
            "(--elements-oci-bundle DIR [ARGS...])");
      if (r.what == action::run) r.what = action::oci_bundle;
    } else if (a == "--elements-exec" || a.rfind("--elements-exec=", 0) == 0) {
      if (a.size() > 15)
        r.exec_id = a.substr(16);
      else if (i + 1 < args.size())
        r.exec_id = args[++i];
      if (r.exec_id.empty() || r.exec_id == "--" || !is_element_name(r.exec_id))
        throw usage_error(
            "--elements-exec: give the ELEMENTS_ID of a running instance, then -- and the "
            "command (--elements-exec NAME.INSTANCE -- CMD...)");
      if (i + 1 < args.size() && args[i + 1] == "--") ++i;
      r.exec_argv.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      if (r.exec_argv.empty())
        throw usage_error("--elements-exec: give the command to run after -- (--elements-exec " +
                          r.exec_id + " -- CMD...)");
      if (r.what == action::run) r.what = action::exec;
      break;
    } else {
      r.words.push_back(a);
    }
  }
  return r;
}

bool debug_requested(const std::vector<std::string>& args, const host_context& host) {
  const auto options_end = std::find(args.begin(), args.end(), "--");  // the command's words follow
  return debug_env(host) || std::find(args.begin(), options_end, "--elements-debug") != options_end;
}

}  // namespace elements::runtime
