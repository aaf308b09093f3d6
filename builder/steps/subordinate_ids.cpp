#include "builder/steps/subordinate_ids.hpp"

#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "elements/error.hpp"
#include "elements/process.hpp"
#include "elements/read_file.hpp"

namespace elements::builder {
namespace {

std::string read_optional(const char* path) {
  try {
    return read_file(path);
  } catch (const error&) {
    return {};
  }
}

}  // namespace

// newuidmap PID 0 UID 1 1 START COUNT (and the same for groups).
void map_subordinate_ids(pid_t child, const id_mapping& ids) {
  const auto run = [&](const std::string& program, std::uint32_t own, const id_range& r) {
    const std::string args[] = {program,
                                std::to_string(child),
                                "0",
                                std::to_string(own),
                                "1",
                                "1",
                                std::to_string(r.start),
                                std::to_string(r.count)};
    pid_t pid = check(::fork(), "start", program);
    if (pid == 0) {
      char* argv[9];
      for (int i = 0; i < 8; ++i) argv[i] = const_cast<char*>(args[i].c_str());
      argv[8] = nullptr;
      ::execv(program.c_str(), argv);
      _exit(127);
    }
    int ws = 0;
    while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    if (status_of(ws) != 0)
      throw error(program + " failed to map the subordinate ids " + std::to_string(r.start) + "+" +
                      std::to_string(r.count) +
                      " (hint: check /etc/subuid and /etc/subgid, or remove the caller's ranges "
                      "there to build with a single id)",
                  exit_build_failed);
  };
  run(ids.newuidmap, ::geteuid(), *ids.uids);
  run(ids.newgidmap, ::getegid(), *ids.gids);
}

std::optional<id_range> find_id_range(std::string_view text, const std::string& name,
                                      std::uint32_t id) {
  const std::string number = std::to_string(id);
  while (!text.empty()) {
    std::string_view line = text.substr(0, text.find('\n'));
    text.remove_prefix(std::min(text.size(), line.size() + 1));
    const auto a = line.find(':');
    const auto b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    const std::string_view who = line.substr(0, a);
    if (who != name && who != number) continue;
    const std::string start(line.substr(a + 1, b - a - 1));
    const std::string count(line.substr(b + 1));
    char* end = nullptr;
    const unsigned long s = std::strtoul(start.c_str(), &end, 10);
    if (start.empty() || *end) continue;
    const unsigned long n = std::strtoul(count.c_str(), &end, 10);
    if (count.empty() || *end || n == 0 || s > 0xFFFFFFFEul || n > 0xFFFFFFFFul - s) continue;
    return id_range{static_cast<std::uint32_t>(s), static_cast<std::uint32_t>(n)};
  }
  return std::nullopt;
}

std::string id_mapping::describe() const {
  if (::geteuid() == 0) return "as root";
  if (!uids) return "with the caller as root and no other ids (no subordinate ids)";
  return "with subordinate uids " + std::to_string(uids->start) + "+" +
         std::to_string(uids->count) + " and gids " + std::to_string(gids->start) + "+" +
         std::to_string(gids->count);
}

id_mapping caller_id_mapping() {
  id_mapping m;
  const uid_t uid = ::geteuid();
  if (uid == 0) return m;
  const passwd* pw = ::getpwuid(uid);
  const std::string name = pw ? pw->pw_name : "";
  auto uids = find_id_range(read_optional("/etc/subuid"), name, uid);
  auto gids = find_id_range(read_optional("/etc/subgid"), name, ::getegid());
  // The system folders after PATH: a PATH without them still finds the setuid tools.
  const char* path = std::getenv("PATH");
  const std::string dirs = std::string(path ? path : "") + ":/usr/bin:/usr/sbin:/bin:/sbin";
  m.newuidmap = find_program("newuidmap", dirs);
  m.newgidmap = find_program("newgidmap", dirs);
  if (uids && gids && !m.newuidmap.empty() && !m.newgidmap.empty()) {
    m.uids = uids;
    m.gids = gids;
  }
  return m;
}

}  // namespace elements::builder
