// Getting at the payload: the mount ladder of DESIGN.md section 3
// (kernel loop, in-process FUSE, extract-once cache), plus direct reads of
// single files and extraction for the --appimage-* options.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "elements/enum_table.hpp"
#include "elements/unique_fd.hpp"
#include "runtime/host_context.hpp"
#include "runtime/image/payload_file.hpp"

namespace elements::runtime {

enum class mount_method { kernel, fuse, extract, directory };
// The names ELEMENTS_MOUNT and --elements-debug use.
inline constexpr enum_name<mount_method> mount_methods[] = {{mount_method::kernel, "kernel"},
                                                            {mount_method::fuse, "fuse"},
                                                            {mount_method::extract, "extract"},
                                                            {mount_method::directory, "directory"}};
constexpr const char* to_string(mount_method m) {
  return name_of(mount_methods, m);
}

// A payload made visible as a directory tree (AppRun, .elements/, rootfs/).
// Destruction unmounts / stops serving; mounts made inside a private mount
// namespace also vanish with it, so a killed runtime leaves nothing behind.
class mounted_payload {
 public:
  virtual ~mounted_payload() = default;
  // The directory that holds AppRun, .elements and rootfs.
  virtual const std::string& root() const = 0;
  // An O_PATH descriptor of root() where it was opened checked, handed over
  // once; else empty.
  virtual unique_fd take_dir_fd() { return {}; }
  virtual mount_method method() const = 0;
  // For --elements-debug, e.g. "/dev/loop3" or "fusermount3".
  virtual std::string detail() const { return {}; }
};

// Reads one regular file of the payload without mounting anything
// (libsquashfuse on the file). Throws elements::error when it is missing.
std::string read_payload_file(const payload_file& file, std::string_view path);

// 1. kernel: loop device over the file at its offset (read-only, autoclear),
//    squashfs mounted read-only on `target`. Needs CAP_SYS_ADMIN in the
//    initial user namespace; call inside a private mount namespace.
std::unique_ptr<mounted_payload> mount_kernel(const payload_file& file, const std::string& target);

// 2. fuse. Can this process open /dev/fuse for reading and writing?
bool fuse_device_usable();
// ... direct: open /dev/fuse and mount on `target` (needs CAP_SYS_ADMIN over
// the current mount namespace, e.g. in a new user+mount namespace), then serve
// the payload with libsquashfuse from a thread of this process. The process
// must not unshare a user namespace after this (it is multi-threaded then),
// nor call this after unshare(CLONE_NEWPID): from then on the kernel refuses
// it new threads (this throws saying so). The same holds for
// fusermount_serve(). Mount first, then unshare(CLONE_NEWPID) and fork.
std::unique_ptr<mounted_payload> mount_fuse(const payload_file& file, const std::string& target);
// ... through fusermount3, for when /dev/fuse is not usable directly. Two
// phases: prepare() runs fusermount3 (auto_unmount) in the host namespaces
// while the process is still single-threaded; serve() starts serving.
// (Complete here so callers can own it; the container side needs the mount
// point to reach it once a tmpfs covers /tmp.)
struct fusermount_pending {
  const payload_file* file = nullptr;
  unique_fd fuse;          // the /dev/fuse connection fusermount3 handed over
  std::string mountpoint;  // host directory it is mounted on (auto_unmount)
  // A helper process in the host namespaces owns fusermount3 and removes the
  // mount point once this link closes (destruction, or the runtime's death).
  unique_fd helper_link;
  int helper_pid = -1;
  // The caller's ids outside any user namespace: the mount belongs to them,
  // so the image's root-owned files are shown as theirs.
  unsigned owner_uid = 0, owner_gid = 0;
  fusermount_pending() = default;
  fusermount_pending(const fusermount_pending&) = delete;
  fusermount_pending& operator=(const fusermount_pending&) = delete;
  ~fusermount_pending();  // never served: unmounts and removes the mount point
};
// Null when fusermount3 is not on PATH. The mount point is made in
// folders.runtime, else folders.temp, else /tmp.
std::unique_ptr<fusermount_pending> fusermount_prepare(const payload_file& file,
                                                       const host_folders& folders);
std::unique_ptr<mounted_payload> fusermount_serve(std::unique_ptr<fusermount_pending> pending);

// 3. extract: the payload extracted once into
//    ${XDG_CACHE_HOME:-~/.cache}/elements/<payload digest>/ (temp dir, then
//    rename), reused by later runs. Never serves a half-extracted tree.
std::unique_ptr<mounted_payload> extract_cached(const payload_file& file,
                                                const host_folders& folders);

// The tree of an already extracted AppImage (squashfs-root/AppRun).
std::unique_ptr<mounted_payload> plain_directory(const std::string& root);

// --appimage-extract [PATTERN]: every entry (or those whose path matches the
// fnmatch PATTERN) into `dest`, printing each path as the AppImage runtime does.
void extract_to(const payload_file& file, const std::string& dest, const std::string& pattern,
                bool verbose);

}  // namespace elements::runtime
