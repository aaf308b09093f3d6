// The runtime stub: everything between "the file was executed" and "the
// command runs in its container", in order.
#include <unistd.h>

#include <fcntl.h>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "appimage_options.hpp"
#include "cli.hpp"
#include "container.hpp"
#include "debug_log.hpp"
#include "elements/error.hpp"
#include "elements/payload.hpp"
#include "elements/read_file.hpp"
#include "elements/spec.hpp"
#include "elements/unique_fd.hpp"
#include "instance.hpp"
#include "oci_bundle.hpp"
#include "self_image.hpp"
#include "squash_extract.hpp"

extern char** environ;

namespace {

using namespace elements;
using namespace elements::runtime;

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string dir_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
}

std::string read_spec_text(const self_image& self, const std::string& directory) {
  if (directory.empty()) return read_payload_file(self.file, payload::spec_path);
  const std::string path = directory + "/" + std::string(payload::spec_path);
  try {
    return read_file(path);
  } catch (const error& e) {
    if (e.code().value() != ENOENT) throw;
    throw error(
        self.file.path + ": no payload inside the file and no " + path +
        " beside it (hint: run an AppImage packed by elements-pack, or its extracted AppRun)");
  }
}

spec load_spec(const std::string& text) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded())
    throw error(
        "the embedded spec is not valid JSON (hint: pack the file again with elements-pack)");
  try {
    return parse_spec(doc);
  } catch (const error& e) {
    throw error(std::string("the embedded spec is invalid: ") + e.what() +
                " (hint: pack the file again with elements-pack)");
  }
}

// Descriptors the caller left open without O_CLOEXEC would reach the
// container's command, a way out of it (a directory fd of the host, as in
// runc's CVE-2024-21626): none survives an exec of the runtime's.
void close_inherited_fds_on_exec() {
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  // Before Linux 5.11: one by one.
  for (int fd = 3, max = static_cast<int>(::sysconf(_SC_OPEN_MAX)); fd < max; ++fd) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
}

host_context read_host(const char* argv0) {
  host_context host;
  for (char** e = environ; *e; ++e) host.environ.emplace_back(*e);
  char cwd[4096];
  host.cwd = ::getcwd(cwd, sizeof cwd) ? cwd : "/";
  host.argv0 = argv0 ? argv0 : "";
  host.uid = ::getuid();
  host.gid = ::getgid();
  return host;
}

int run(int argc, char** argv, std::string& program) {
  close_inherited_fds_on_exec();
  // Where the payload is: inside this file, or beside it for squashfs-root/AppRun.
  self_image self = open_self_image();
  program = base_name(self.file.path);
  std::vector<std::string> args(argv + 1, argv + argc);
  const char* debug_env = std::getenv("ELEMENTS_DEBUG");
  const auto options_end = std::find(args.begin(), args.end(), "--");  // the command's words follow
  if ((debug_env && *debug_env && std::strcmp(debug_env, "0") != 0) ||
      std::find(args.begin(), options_end, "--elements-debug") != options_end)
    debug::enable(program);
  debug::step("runtime started");

  // The --appimage-* words come before the spec's own options.
  if (auto status = handle_appimage_option(self, args)) return *status;
  std::string extracted;
  unique_fd extracted_parent;
  scope_exit cleanup([&] {
    // By now a tmpfs of the container's set-up may cover the path's /tmp:
    // remove the tree through its parent's fd.
    if (extracted_parent) remove_tree(extracted_parent.get(), base_name(extracted).c_str());
  });
  if (!args.empty() && args[0] == "--appimage-extract-and-run") {
    extracted = extract_for_run(self);
    extracted_parent.reset(::open(dir_name(extracted).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    args.erase(args.begin());
  }
  const std::string directory = !extracted.empty() ? extracted
                                : self.has_payload ? std::string()
                                                   : dir_name(self.file.path);

  // The spec, read straight from the image: --help needs no mount.
  const spec s = load_spec(read_spec_text(self, directory));
  debug::step("spec read");

  // The file's own command line, as the spec declares it.
  const invocation inv = parse_command_line(s, args, read_host(argv[0]));
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
          inv.exec_argv);
    case action::run:
    case action::oci_bundle:
      break;
  }

  // Namespaces, payload, root filesystem, init: the container runs to its end.
  run_request req;
  req.file = directory.empty() ? &self.file : nullptr;
  req.directory = directory;
  req.s = &s;
  req.p = &inv.run;
  req.program = program;
  // The same container for an outside OCI runtime, on request.
  if (inv.what == action::oci_bundle) {
    write_oci_bundle(req, inv.bundle_dir);
    std::fprintf(stderr, "%s: wrote %s (run it with: runc run --bundle %s %s)\n", program.c_str(),
                 inv.bundle_dir.c_str(), inv.bundle_dir.c_str(), inv.run.id.c_str());
    return 0;
  }
  if (const char* oci = std::getenv("ELEMENTS_OCI_RUNTIME"); oci && *oci)
    return run_in_oci_runtime(req, oci);
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
