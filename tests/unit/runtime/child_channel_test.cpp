// The child channel across a real fork: what a child sends arrives whole;
// a child that ends or execs without sending leaves the parent nothing.

#include "elements/child_channel.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iterator>
#include <string>

namespace {

using elements::child_channel;
using elements::child_report;

// Forks `body` with the sending end; returns what the parent received.
std::optional<child_report> from_child(const std::function<void(int fd)>& body) {
  child_channel channel;
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    channel.keep_sender();
    body(channel.sender());
    ::_exit(0);
  }
  channel.keep_receiver();
  auto r = channel.receive();
  int ws = 0;
  ::waitpid(pid, &ws, 0);
  CHECK(WIFEXITED(ws));
  return r;
}

}  // namespace

TEST_CASE("child channel: code, errno and message reach the parent") {
  const auto r = from_child(
      [](int fd) { elements::send_child_report(fd, 127, ENOENT, "cannot run /bin/nothing"); });
  REQUIRE(r);
  CHECK(r->code == 127);
  CHECK(r->err == ENOENT);
  CHECK(r->message == "cannot run /bin/nothing");
}

TEST_CASE("child channel: an empty message and a negative code") {
  const auto r = from_child([](int fd) { elements::send_child_report(fd, -1, 0, {}); });
  REQUIRE(r);
  CHECK(r->code == -1);
  CHECK(r->err == 0);
  CHECK(r->message.empty());
}

TEST_CASE("child channel: a message longer than one socket buffer arrives whole") {
  const std::string long_message(1 << 20, 'x');
  const auto r = from_child(
      [&](int fd) { elements::send_child_report(fd, 125, EPERM, long_message + "end"); });
  REQUIRE(r);
  CHECK(r->code == 125);
  CHECK(r->err == EPERM);
  CHECK(r->message == long_message + "end");
}

TEST_CASE("child channel: a child that ends without sending leaves nothing") {
  CHECK_FALSE(from_child([](int) {}));
}

TEST_CASE("child channel: the sending end closes on exec") {
  CHECK_FALSE(from_child([](int) {
    ::execl("/bin/true", "true", static_cast<char*>(nullptr));
    ::_exit(1);
  }));
}

TEST_CASE("child channel: only the first report counts") {
  const auto r = from_child([](int fd) {
    elements::send_child_report(fd, 1, 2, "first");
    elements::send_child_report(fd, 3, 4, "second");
  });
  REQUIRE(r);
  CHECK(r->code == 1);
  CHECK(r->message == "first");
}

TEST_CASE("child channel: receiving closes the channel") {
  const auto open_fds = [] {
    return std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                         std::filesystem::directory_iterator());
  };
  const auto before = open_fds();
  child_channel channel;
  elements::send_child_report(channel.sender(), 0, 0, "x");
  channel.keep_receiver();
  CHECK(open_fds() == before + 1);
  REQUIRE(channel.receive());
  CHECK(open_fds() == before);
  CHECK_FALSE(channel.receive());
}
