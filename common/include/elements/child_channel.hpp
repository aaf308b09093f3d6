// How a child process tells its parent why it failed, across fork: a code,
// an errno and a message in one write on a close-on-exec socket pair, as
// crun's sync socket. The parent reads after the child has exec'd or ended;
// nothing sent means success (the socket closed on exec, or the child ended
// without a word).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "elements/unique_fd.hpp"

namespace elements {

struct child_report {
  int code = 0;  // an exit status, or what the child and parent agree on
  int err = 0;   // errno of the call that failed, 0 when none
  std::string message;
};

// Made before fork; the child keeps the sending end, the parent the other.
class child_channel {
 public:
  child_channel();  // throws when no socket pair can be made

  int sender() const { return send_.get(); }
  // Called after fork, on each side, so that only the child holds the
  // sending end and the parent sees the channel end when it is gone.
  void keep_sender() { receive_.reset(); }
  void keep_receiver() { send_.reset(); }

  // The report, or nothing when every sending end closed without one.
  // Blocks until then; retries when a signal interrupts it. The channel is
  // closed afterwards: one report per channel.
  std::optional<child_report> receive();

 private:
  unique_fd receive_, send_;
};

// Sends on a channel's sending end: one write, no allocation, so it is safe
// in a child of a threaded process. Errors are ignored: a parent that is
// gone has nobody to tell.
void send_child_report(int fd, int code, int err, std::string_view message) noexcept;

}  // namespace elements
