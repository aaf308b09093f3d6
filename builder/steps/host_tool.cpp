#include "builder/steps/host_tool.hpp"

#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "builder/publish/output_file.hpp"
#include "elements/error.hpp"
#include "elements/process.hpp"
#include "elements/read_file.hpp"
#include "elements/unique_fd.hpp"

extern char** environ;

namespace elements::builder {
namespace {

[[noreturn]] void not_found(const host_tool& tool, std::string_view why) {
  throw error(std::string(tool.name) + ": not found in PATH, needed " + std::string(why) +
                  " (hint: install " + std::string(tool.package) + ")",
              exit_build_failed);
}

// Memory files hold the tool's input and output: no pipe can fill up and
// stall the tool while we wait for it.
unique_fd memory_file(const char* name) {
  unique_fd fd(::memfd_create(name, MFD_CLOEXEC));
  if (!fd) throw_errno("create a memory file for", name);
  return fd;
}

}  // namespace

void require_tool(const host_tool& tool, std::string_view why) {
  // As posix_spawnp searches when run_tool starts it.
  if (find_program(tool.name, path_or_default(std::getenv("PATH")), empty_entry::current_dir)
          .empty())
    not_found(tool, why);
}

tool_result run_tool(const host_tool& tool, const std::vector<std::string>& args,
                     std::string_view input, int input_fd) {
  const std::string name(tool.name);
  unique_fd in;
  if (input_fd < 0) {
    in = memory_file("tool-input");
    write_at(in.get(), input, 0, "the input of " + name);
    input_fd = in.get();
  }
  unique_fd out = memory_file("tool-stdout");
  unique_fd err = memory_file("tool-stderr");

  std::vector<char*> argv{const_cast<char*>(name.c_str())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  scope_exit release([&] { posix_spawn_file_actions_destroy(&actions); });
  posix_spawn_file_actions_adddup2(&actions, input_fd, 0);
  posix_spawn_file_actions_adddup2(&actions, out.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err.get(), 2);
  pid_t pid = 0;
  if (int rc = ::posix_spawnp(&pid, name.c_str(), &actions, nullptr, argv.data(), environ)) {
    if (rc == ENOENT) not_found(tool, "here");
    throw_errno("start", name, rc);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw_errno("wait for", name);

  tool_result r;
  r.status = status_of(status);
  r.out = read_from_start(out.get(), "the output of " + name);
  r.err = read_from_start(err.get(), "the output of " + name);
  return r;
}

std::string last_line(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  const auto nl = text.rfind('\n');
  return std::string(nl == std::string_view::npos ? text : text.substr(nl + 1));
}

}  // namespace elements::builder
