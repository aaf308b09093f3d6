#include "builder/publish/output_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

namespace elements::builder {
namespace {

// The signal handler may only touch what is async-signal-safe: a fixed
// buffer holding the path, and unlink(2).
char pending_path[PATH_MAX + 1];
volatile sig_atomic_t pending = 0;

constexpr int cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction previous[std::size(cleanup_signals)];

extern "C" void remove_and_reraise(int sig) {
  if (pending) ::unlink(pending_path);
  // Default action, re-raised: the caller sees the process die of the signal.
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void arm(const std::string& path) {
  if (path.size() > PATH_MAX) return;  // open() would have refused it already
  std::memcpy(pending_path, path.c_str(), path.size() + 1);
  pending = 1;
  struct sigaction sa {};
  sa.sa_handler = remove_and_reraise;
  sigemptyset(&sa.sa_mask);
  for (std::size_t i = 0; i < std::size(cleanup_signals); ++i)
    ::sigaction(cleanup_signals[i], &sa, &previous[i]);
}

void disarm() {
  if (!pending) return;
  pending = 0;
  for (std::size_t i = 0; i < std::size(cleanup_signals); ++i)
    ::sigaction(cleanup_signals[i], &previous[i], nullptr);
}

std::filesystem::path folder_of(const std::filesystem::path& target) {
  const auto folder = target.parent_path();
  return folder.empty() ? "." : folder;
}

constexpr std::string_view temp_infix = ".tmp.";

std::filesystem::path temp_name(const std::filesystem::path& target) {
  auto temp = target;
  temp += std::string(temp_infix) + std::to_string(::getpid());
  return temp;
}

bool is_temp_name(std::string_view name, std::string_view target_name) {
  if (!name.starts_with(target_name) || !name.substr(target_name.size()).starts_with(temp_infix))
    return false;
  const auto pid = name.substr(target_name.size() + temp_infix.size());
  return !pid.empty() &&
         std::all_of(pid.begin(), pid.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

output_file::output_file(std::filesystem::path target, how h, mode_t mode)
    : target_(std::move(target)), mode_(mode) {
  remove_stale_temp_files(target_);
  if (h == how::named || !open_unnamed()) open_named();
}

bool output_file::open_unnamed() {
  // Any failure (a filesystem without O_TMPFILE, a missing folder) falls
  // back to the named file, whose open names the real problem.
  fd_.reset(::open(folder_of(target_).c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0644));
  if (!fd_) return false;
  // Linking an unnamed file takes /proc/self/fd (AT_EMPTY_PATH would take
  // CAP_DAC_READ_SEARCH).
  const std::string proc = "/proc/self/fd/" + std::to_string(fd_.get());
  if (::access(proc.c_str(), F_OK) != 0) {
    fd_.reset();
    return false;
  }
  // Held on the file, so it also covers the FILE.tmp.PID name it gets for
  // a moment when it replaces an existing output.
  ::flock(fd_.get(), LOCK_EX);
  return true;
}

void output_file::open_named() {
  temp_ = temp_name(target_);
  // Armed before the file exists, so no signal slips between creating and arming.
  arm(temp_.native());
  fd_.reset(::open(temp_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd_) {
    const int err = errno;
    disarm();
    temp_.clear();
    throw_errno("create", target_.native(), err);
  }
  ::flock(fd_.get(), LOCK_EX);
}

output_file::~output_file() {
  if (committed_) return;
  fd_.reset();
  if (!temp_.empty()) ::unlink(temp_.c_str());
  disarm();
}

void output_file::link_into_place() {
  const std::string proc = "/proc/self/fd/" + std::to_string(fd_.get());
  if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, target_.c_str(), AT_SYMLINK_FOLLOW) == 0) return;
  if (errno != EEXIST) throw_errno("create", target_.native());
  // Only rename replaces a file in one step, and it moves names: the file
  // gets one next to the output first.
  temp_ = temp_name(target_);
  arm(temp_.native());
  if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, temp_.c_str(), AT_SYMLINK_FOLLOW) != 0) {
    const int err = errno;
    disarm();
    const auto temp = std::exchange(temp_, {});
    throw_errno("create", temp.native(), err);
  }
  check(::rename(temp_.c_str(), target_.c_str()), "rename " + temp_.native() + " to",
        target_.native());
}

void output_file::commit() {
  check(::fchmod(fd_.get(), mode_), "set the mode of", target_.native());
  // A full disk may only show here, on filesystems that allocate late.
  if (::fsync(fd_.get()) != 0) throw output_write_error(target_, errno);
  if (temp_.empty())
    link_into_place();
  else
    check(::rename(temp_.c_str(), target_.c_str()), "rename " + temp_.native() + " to",
          target_.native());
  committed_ = true;
  disarm();
  fd_.reset();
}

error output_write_error(const std::filesystem::path& file, int err) {
  std::string msg = "cannot write " + file.native() + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) {
    const auto folder = folder_of(file);
    msg += " (hint: free some space in " +
           (folder == "." ? std::string("the current folder") : folder.native()) +
           " or write elsewhere with -o)";
  }
  return error(msg, exit_build_failed, std::error_code(err, std::generic_category()));
}

void write_at(int fd, std::span<const unsigned char> bytes, std::uint64_t offset,
              const std::filesystem::path& file) {
  while (!bytes.empty()) {
    ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw output_write_error(file, errno);
    bytes = bytes.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
}

void remove_stale_temp_files(const std::filesystem::path& target) {
  const auto folder = folder_of(target);
  const std::string name = target.filename().native();
  // A folder that cannot be read: the open that follows says what is wrong.
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(folder.c_str()), ::closedir);
  if (!d) return;
  while (const dirent* e = ::readdir(d.get())) {
    if (!is_temp_name(e->d_name, name)) continue;
    const auto path = folder / e->d_name;
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    // Its writer holds the lock while it lives; the lock went with it.
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;
    // Still the file that was locked, not one renamed over it since.
    struct stat now {};
    if (::lstat(path.c_str(), &now) == 0 && now.st_dev == st.st_dev && now.st_ino == st.st_ino)
      ::unlink(path.c_str());
  }
}

}  // namespace elements::builder
