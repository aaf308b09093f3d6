// The runtime stub: everything between "the file was executed" and "the
// command runs in its container", in order, one line a phase.
#include <cstdio>
#include <optional>

#include "elements/error.hpp"
#include "runtime/cli/appimage_options.hpp"
#include "runtime/cli/cli.hpp"
#include "runtime/container/container.hpp"
#include "runtime/container/instance.hpp"
#include "runtime/container/oci_bundle.hpp"
#include "runtime/debug_log.hpp"
#include "runtime/image/self_image.hpp"

namespace {

using namespace elements;
using namespace elements::runtime;

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The words that answer without a container; nullopt for the others.
std::optional<int> answer(const invocation& inv, const spec& s, const std::string& program,
                          const host_folders& folders) {
  switch (inv.what) {
    case action::help:
      std::fputs(help_text(s, program).c_str(), stdout);
      return 0;
    case action::spec:
      std::puts(to_json(s).dump(2).c_str());
      return 0;
    case action::exec:
      // NAME.INSTANCE as ELEMENTS_ID says it, or the instance alone.
      return exec_in_instance(
          inv.exec_id.rfind(s.name + ".", 0) == 0 ? inv.exec_id : s.name + "." + inv.exec_id,
          inv.exec_argv, folders.runtime);
    case action::run:
    case action::oci_bundle:
      break;
  }
  return std::nullopt;
}

// The payload in this file, or the tree to run from: one extracted, or the
// one this file (squashfs-root/AppRun) sits in.
run_request request_for(const self_image& self, const std::optional<extracted_tree>& extracted,
                        const host_context& host, const host_folders& folders) {
  run_request req;
  const std::string& path = self.file.path;
  req.directory = extracted          ? extracted->path()
                  : self.has_payload ? std::string()
                                     : path.substr(0, std::max<std::size_t>(path.rfind('/'), 1));
  req.file = req.directory.empty() ? &self.file : nullptr;
  req.program = base_name(path);
  req.folders = folders;
  req.privileged = host.privileged;
  return req;
}

int write_bundle(const run_request& req, const invocation& inv) {
  write_oci_bundle(req, inv.bundle_dir);
  std::fprintf(stderr, "%s: wrote %s (run it with: runc run --bundle %s %s)\n", req.program.c_str(),
               inv.bundle_dir.c_str(), inv.bundle_dir.c_str(), inv.run.id.c_str());
  return 0;
}

int run(int argc, char** argv, std::string& program) {
  close_inherited_fds_on_exec();  // no descriptor of the caller's reaches the container
  const host_context host = read_host(argv[0]);   // the environment: read here, nowhere else
  const host_folders folders = folders_of(host);  // state, cache, registry, temporary files
  // Where the payload is: inside this file, or beside it for squashfs-root/AppRun.
  const self_image self = open_self_image(host_env(host, "TARGET_APPIMAGE"));
  program = base_name(self.file.path);
  std::vector<std::string> args(argv + 1, argv + argc);
  debug::stop_at(host_env(host, "ELEMENTS_STOP_AT").value_or(""));  // the fault tests' hold
  if (debug_requested(args, host)) debug::enable(program);  // before the spec: all steps timed
  debug::step("runtime started");
  // The --appimage-* words come before the spec's own options.
  if (auto status = handle_appimage_option(self, args, folders)) return *status;
  std::optional<extracted_tree> extracted;  // --appimage-extract-and-run: removed at the end
  if (!args.empty() && args[0] == "--appimage-extract-and-run") {
    extracted.emplace(self, folders);
    args.erase(args.begin());
  }
  run_request req = request_for(self, extracted, host, folders);
  const spec s = read_self_spec(self, req.directory);  // from the image: --help needs no mount
  debug::step("spec read");
  const invocation inv = parse_command_line(s, args, host);            // as the spec declares it
  if (auto status = answer(inv, s, program, folders)) return *status;  // help, spec, exec
  req.s = &s;
  req.p = &inv.run;
  // The same container for an outside OCI runtime, on request.
  if (inv.what == action::oci_bundle) return write_bundle(req, inv);
  if (auto oci = host_env(host, "ELEMENTS_OCI_RUNTIME"); oci && !oci->empty())
    return run_in_oci_runtime(req, *oci);
  req.mount = parse_mount_request(host_env(host, "ELEMENTS_MOUNT"));  // the ladder's start
  // Namespaces, payload, root filesystem, init: the container runs to its end.
  return run_container(req);
}

}  // namespace

int main(int argc, char** argv) {
  // Until the runtime knows its own file: how it was called, for errors
  // about that file itself.
  std::string program = argc > 0 && argv[0] && *argv[0] ? base_name(argv[0]) : "elements";
  try {
    return run(argc, argv, program);
  } catch (const elements::error& e) {
    std::fprintf(stderr, "%s: %s\n", program.c_str(), e.what());
    return e.status();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program.c_str(), e.what());
    return elements::exit_start_failed;
  }
}
