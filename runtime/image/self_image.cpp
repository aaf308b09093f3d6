#include "runtime/image/self_image.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "elements/error.hpp"
#include "elements/read_file.hpp"

namespace elements::runtime {
namespace {

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

std::string self_path(const std::string& target) {
  if (!target.empty()) {
    char buf[PATH_MAX];
    if (!::realpath(target.c_str(), buf)) throw_errno("open TARGET_APPIMAGE", target);
    return buf;
  }
  char buf[PATH_MAX];
  ssize_t n = check(::readlink("/proc/self/exe", buf, sizeof buf - 1), "read", "/proc/self/exe");
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace

self_image open_self_image(const std::optional<std::string>& target) {
  self_image self;
  self.file.path = self_path(target.value_or(""));
  // /proc/self/exe is the file we were exec'd from even if its path was
  // replaced since; TARGET_APPIMAGE names another file on purpose.
  const char* open_path = target ? self.file.path.c_str() : "/proc/self/exe";
  self.file.fd.reset(check(::open(open_path, O_RDONLY | O_CLOEXEC), "open", self.file.path));
  self.extent = payload::read_elf_extent(self.file.fd.get(), self.file.path);
  self.file.offset = self.extent.end;
  // Only the runtime alone (squashfs-root/AppRun) ends where its ELF does and
  // reads the payload beside it. Bytes after the ELF are a payload: a
  // damaged one when squashfs' magic is missing, which reading it reports.
  struct stat st {};
  self.has_payload = payload::has_squashfs_at(self.file.fd.get(), self.file.offset) ||
                     (::fstat(self.file.fd.get(), &st) == 0 &&
                      static_cast<std::uint64_t>(st.st_size) > self.file.offset);
  return self;
}

std::string read_section(const self_image& self, const std::optional<payload::section>& sec) {
  if (!sec || sec->size == 0) return {};
  std::string buf(sec->size, '\0');
  ssize_t n = ::pread(self.file.fd.get(), buf.data(), buf.size(), static_cast<off_t>(sec->offset));
  if (n < 0) throw_errno("read", self.file.path);
  buf.resize(static_cast<std::size_t>(n));
  if (auto nul = buf.find('\0'); nul != std::string::npos) buf.resize(nul);
  return buf;
}

spec read_self_spec(const self_image& self, const std::string& directory) {
  auto doc = nlohmann::json::parse(read_spec_text(self, directory), nullptr, false);
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

}  // namespace elements::runtime
