#include "output_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstring>

#include "elements/error.hpp"

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
  pending = 0;
  for (std::size_t i = 0; i < std::size(cleanup_signals); ++i)
    ::sigaction(cleanup_signals[i], &previous[i], nullptr);
}

}  // namespace

output_file::output_file(std::filesystem::path target) : target_(std::move(target)) {
  temp_ = target_;
  temp_ += ".tmp." + std::to_string(::getpid());
  // Armed before the file exists, so no signal slips between creating and arming.
  arm(temp_.native());
  fd_.reset(::open(temp_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd_) {
    const int err = errno;
    disarm();
    throw_errno("create", target_.native(), err);
  }
}

output_file::~output_file() {
  if (!committed_) {
    fd_.reset();
    ::unlink(temp_.c_str());
    disarm();
  }
}

void output_file::commit() {
  check(::fchmod(fd_.get(), 0755), "make executable", temp_.native());
  check(::fsync(fd_.get()), "write", temp_.native());
  check(::rename(temp_.c_str(), target_.c_str()), "rename " + temp_.native() + " to",
        target_.native());
  committed_ = true;
  disarm();
  fd_.reset();
}

}  // namespace elements::builder
