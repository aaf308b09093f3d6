#include "builder/publish/zsync.hpp"

#include <unistd.h>

#include "builder/publish/output_file.hpp"
#include "builder/steps/host_tool.hpp"
#include "elements/error.hpp"

namespace elements::builder {
namespace {

constexpr host_tool zsyncmake{"zsyncmake", "zsync"};

}  // namespace

bool wants_zsync(std::string_view update_information) {
  const auto transport = update_information.substr(0, update_information.find('|'));
  return transport.size() < update_information.size() && transport.ends_with("zsync");
}

void require_zsyncmake() {
  require_tool(zsyncmake, "for the .zsync file that updateInformation announces");
}

std::string make_zsync(int fd, const std::filesystem::path& output) {
  // zsyncmake reads the file on stdin and writes the control file to stdout
  // (named: with -f it would write FILE.zsync into the current folder). Read
  // from stdin it writes no MTime, so the same file gives the same .zsync.
  // The file may have no name yet: it goes in as the fd, from its start.
  check(::lseek(fd, 0, SEEK_SET), "read", output.native());
  const std::string name = output.filename().native();
  const auto made = run_tool(zsyncmake, {"-u", name, "-f", name, "-o", "/dev/stdout"}, "", fd);
  if (made.status != 0 || made.out.rfind("zsync:", 0) != 0)
    throw error(
        "zsyncmake could not make the .zsync of " + output.native() + ": " + last_line(made.err),
        exit_build_failed);
  return made.out;
}

std::filesystem::path write_zsync(const std::filesystem::path& output, const std::string& control) {
  std::filesystem::path path = output;
  path += ".zsync";
  output_file out(path, output_file::how::unnamed_if_possible, 0644);
  write_at(out.fd(), control, 0, path);
  out.commit();
  return path;
}

}  // namespace elements::builder
