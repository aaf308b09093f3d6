#include "runtime/cli/appimage_options.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <sys/mount.h>
#include <sys/stat.h>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "elements/error.hpp"
#include "elements/private_dir.hpp"
#include "runtime/image/signature_check.hpp"
#include "runtime/mount/squash_extract.hpp"

namespace elements::runtime {
namespace {

void print(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
}

const char* appimage_help =
    "AppImage options:\n\n"
    "  --appimage-extract [<pattern>]  Extract content from embedded filesystem image\n"
    "                                  If pattern is passed, only extract matching files\n"
    "  --appimage-extract-and-run      Temporarily extract, run and clean up\n"
    "  --appimage-help                 Print this help\n"
    "  --appimage-mount                Mount embedded filesystem image and print\n"
    "                                  mount point and wait for kill with Ctrl-C\n"
    "  --appimage-offset               Print byte offset to start of embedded\n"
    "                                  filesystem image\n"
    "  --appimage-signature            Print digital signature embedded in AppImage\n"
    "  --appimage-updateinformation    Print update info embedded in AppImage\n"
    "  --appimage-version              Print version of the runtime\n"
    "\n"
    "  --elements-verify               Check the signature with the key embedded\n"
    "                                  in the file (needs gpgv)\n";

void require_payload(const self_image& self) {
  if (!self.has_payload)
    throw error(
        self.file.path + ": no squashfs payload at offset " + std::to_string(self.file.offset) +
        " (hint: this is the bare runtime or an extracted AppRun; pack a file with elements-pack)");
}

// --appimage-mount: a mount the caller can use from outside, kept until a signal.
int appimage_mount(const self_image& self, const host_folders& folders) {
  require_payload(self);
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, sig);
  check(::sigprocmask(SIG_BLOCK, &set, nullptr), "block", "signals");

  std::unique_ptr<mounted_payload> mounted;
  std::string dir;
  if (::geteuid() == 0) {
    dir = make_temp_dir(folders.temp, ".mount_");
    mounted = mount_kernel(self.file, dir);
  } else if (auto pending = fusermount_prepare(self.file, folders)) {
    mounted = fusermount_serve(std::move(pending));
  } else {
    throw error(
        "--appimage-mount needs root or fusermount3 (hint: install fuse3, or use "
        "--appimage-extract)");
  }
  print(mounted->root() + "\n");
  int sig = 0;
  ::sigwait(&set, &sig);
  mounted.reset();
  if (!dir.empty()) ::rmdir(dir.c_str());
  return 0;
}

}  // namespace

extracted_tree::~extracted_tree() {
  if (parent_) remove_tree(parent_.get(), path_.substr(path_.rfind('/') + 1).c_str());
}

extracted_tree::extracted_tree(const self_image& self, const host_folders& folders) {
  require_payload(self);
  std::string dir = make_temp_dir(folders.temp, "appimage_extracted_");
  try {
    extract_to(self.file, dir, "", false);
  } catch (...) {
    remove_tree(AT_FDCWD, dir.c_str());
    throw;
  }
  path_ = dir;
  parent_.reset(::open(path_.substr(0, std::max<std::size_t>(path_.rfind('/'), 1)).c_str(),
                       O_PATH | O_DIRECTORY | O_CLOEXEC));
}

std::optional<int> handle_appimage_option(const self_image& self,
                                          const std::vector<std::string>& args,
                                          const host_folders& folders) {
  if (args.empty()) return std::nullopt;
  const std::string& a = args[0];
  if (a == "--elements-verify") return verify_signature(self);
  if (a.rfind("--appimage-", 0) != 0) return std::nullopt;
  if (a == "--appimage-offset") {
    require_payload(self);
    print(std::to_string(self.file.offset) + "\n");
  } else if (a == "--appimage-help") {
    print(appimage_help);
  } else if (a == "--appimage-version") {
    print("elements runtime " ELEMENTS_VERSION " (AppImage type 2)\n");
  } else if (a == "--appimage-updateinformation") {
    print(read_section(self, self.extent.upd_info) + "\n");
  } else if (a == "--appimage-signature") {
    // The armored signature ends in a newline of its own.
    const std::string sig = read_section(self, self.extent.sha256_sig);
    print(sig.ends_with('\n') ? sig : sig + "\n");
  } else if (a == "--appimage-extract") {
    require_payload(self);
    extract_to(self.file, "squashfs-root", args.size() > 1 ? args[1] : "", true);
  } else if (a == "--appimage-mount") {
    return appimage_mount(self, folders);
  } else if (a == "--appimage-extract-and-run") {
    return std::nullopt;
  } else {
    throw usage_error(a + ": not an AppImage option (see --appimage-help)");
  }
  return 0;
}

}  // namespace elements::runtime
