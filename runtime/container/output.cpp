#include "runtime/container/output.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "elements/error.hpp"
#include "elements/private_dir.hpp"

namespace elements::runtime {

output_stage::output_stage(const std::string& dest, const std::string& id) : dest_(dest), id_(id) {
  struct stat st {};
  into_dir_ = ::stat(dest.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  std::string parent;
  if (into_dir_) {
    parent = dest;
  } else {
    auto slash = dest.rfind('/');
    parent = slash == 0 ? "/" : dest.substr(0, slash);
    dest_name_ = dest.substr(slash + 1);
  }
  parent_.reset(::open(parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!parent_)
    throw usage_error("output " + dest + ": the folder " + parent +
                      " does not exist (hint: create it first)");
  // A fresh name each run: a folder someone else made beside the output
  // neither blocks the run nor receives it.
  stage_name_ = make_temp_dir_at(parent_.get(), "." + id + ".out.partial.", 0755, parent);
  stage_path_ = parent + "/" + stage_name_;
  stage_.reset(
      ::openat(parent_.get(), stage_name_.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!stage_) throw_errno("open", stage_path_);
}

output_stage::~output_stage() {
  if (!delivered_ && parent_) ::unlinkat(parent_.get(), stage_name_.c_str(), AT_REMOVEDIR);
}

void output_stage::deliver() {
  delivered_ = true;
  std::vector<std::string> entries;
  {
    int fd = ::openat(stage_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw_errno("open", stage_path_);
    DIR* d = ::fdopendir(fd);
    while (dirent* e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
        entries.emplace_back(e->d_name);
    ::closedir(d);
  }
  const bool single = entries.size() == 1;
  const std::string target = into_dir_ ? id_ + ".out" : dest_name_;
  const std::string shown = into_dir_ ? dest_ + "/" + target : dest_;
  int rc = single ? ::renameat(stage_.get(), entries[0].c_str(), parent_.get(), target.c_str())
                  : ::renameat(parent_.get(), stage_name_.c_str(), parent_.get(), target.c_str());
  if (rc != 0) {
    int err = errno;
    throw error("cannot move /out to " + shown + ": " + std::strerror(err) +
                " (hint: the output is kept in " + stage_path_ + ")");
  }
  if (single) ::unlinkat(parent_.get(), stage_name_.c_str(), AT_REMOVEDIR);
}

}  // namespace elements::runtime
