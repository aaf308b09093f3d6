// Mount rung 1: the kernel's own squashfs over a loop device, for callers
// that are root in the initial user namespace.

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <endian.h>
#include <algorithm>
#include <cstring>

#include "elements/error.hpp"
#include "runtime/debug_log.hpp"
#include "runtime/image/squash_check.hpp"
#include "runtime/image/verified_reads.hpp"
#include "runtime/mount/squash_mount.hpp"

namespace elements::runtime {
namespace {

class kernel_mount final : public mounted_payload {
 public:
  kernel_mount(std::string target, std::string device)
      : target_(std::move(target)), device_(std::move(device)) {}
  // Autoclear frees the loop device once this last user of it is gone.
  ~kernel_mount() override { ::umount2(target_.c_str(), MNT_DETACH); }
  const std::string& root() const override { return target_; }
  mount_method method() const override { return mount_method::kernel; }
  std::string detail() const override { return device_; }

 private:
  std::string target_, device_;
};

// A loop device ends at the last whole 512-byte sector; an image that
// reaches past it would fail later with I/O errors deep inside the container.
void check_fits_loop(const payload_file& file) {
  struct stat st;
  check(::fstat(file.fd.get(), &st), "read", file.path);
  std::uint64_t bytes_used = 0;
  if (::pread(file.fd.get(), &bytes_used, sizeof bytes_used,
              static_cast<off_t>(file.offset + 40)) != sizeof bytes_used)
    throw_errno("read", file.path);
  const std::uint64_t usable =
      (static_cast<std::uint64_t>(st.st_size) - file.offset) & ~std::uint64_t{511};
  if (le64toh(bytes_used) > usable)
    throw error(file.path +
                ": the payload does not end on a 512-byte boundary, so the kernel cannot mount it "
                "(hint: rebuild it with elements-pack, or use ELEMENTS_MOUNT=fuse)");
}

// The kernel reads the loop device without asking the runtime, so the
// block digests cannot be checked as it reads: what the kernel trusts most,
// the superblock and the tables, is checked before it sees them. Data and
// fragment blocks are not (README, "Block digests").
void check_tables(const payload_file& file) {
  if (const std::uint64_t blocks = check_payload_metadata(file.fd.get(), file.path, file.offset))
    debug::step("block digests: superblock and tables checked (" + std::to_string(blocks) +
                " blocks of 4 KiB)");
}

bool attach_legacy(int loop, const payload_file& file, const loop_info64& info) {
  if (::ioctl(loop, LOOP_SET_FD, file.fd.get()) != 0) return false;
  if (::ioctl(loop, LOOP_SET_STATUS64, &info) != 0) {
    int err = errno;
    ::ioctl(loop, LOOP_CLR_FD, 0);
    errno = err;
    return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<mounted_payload> mount_kernel(const payload_file& file, const std::string& target) {
  // The kernel's squashfs driver is handed only a superblock the runtime
  // has checked, whatever read the payload before.
  check_superblock(file.fd.get(), file.path, file.offset);
  check_fits_loop(file);
  check_tables(file);
  unique_fd control(
      check(::open("/dev/loop-control", O_RDWR | O_CLOEXEC), "open", "/dev/loop-control"));

  loop_config config{};
  config.fd = static_cast<std::uint32_t>(file.fd.get());
  config.info.lo_offset = file.offset;
  config.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
  std::memcpy(config.info.lo_file_name, file.path.data(),
              std::min<std::size_t>(file.path.size(), LO_NAME_SIZE - 1));

  // Another process may take the free device between asking and attaching.
  for (int attempt = 0;; ++attempt) {
    const int n = check(::ioctl(control.get(), LOOP_CTL_GET_FREE), "find a free loop device via",
                        "/dev/loop-control");
    const std::string device = "/dev/loop" + std::to_string(n);
    unique_fd loop(check(::open(device.c_str(), O_RDONLY | O_CLOEXEC), "open", device));
    bool attached = ::ioctl(loop.get(), LOOP_CONFIGURE, &config) == 0;
    // Kernels before 5.8 lack LOOP_CONFIGURE.
    if (!attached && (errno == EINVAL || errno == ENOTTY))
      attached = attach_legacy(loop.get(), file, config.info);
    if (!attached) {
      if (errno == EBUSY && attempt < 32) continue;
      throw_errno("attach " + file.path + " to", device);
    }
    // Not nosuid: a root container may rely on setuid programs of its image.
    if (::mount(device.c_str(), target.c_str(), "squashfs", MS_RDONLY | MS_NODEV, nullptr) != 0)
      throw_errno("mount " + device + " on", target);
    return std::make_unique<kernel_mount>(target, device);
  }
}

}  // namespace elements::runtime
