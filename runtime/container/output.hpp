// `output` args: the container writes to /out, which lands at a host path
// when it exits (DESIGN.md section 2). The data is staged beside its
// destination so the move is a rename, and survives an interrupted run.
#pragma once

#include <string>

#include "elements/unique_fd.hpp"

namespace elements::runtime {

class output_stage {
 public:
  // Creates the staging folder for `dest` (checked: its folder exists).
  output_stage(const std::string& dest, const std::string& id);
  output_stage(const output_stage&) = delete;
  output_stage& operator=(const output_stage&) = delete;
  // Undelivered: removes the staging folder if nothing was written to it.
  ~output_stage();

  // The staging folder, to be bound at /out.
  int dir() const { return stage_.get(); }
  // Its path, for a runtime that binds it by name (ELEMENTS_OCI_RUNTIME).
  const std::string& path() const { return stage_path_; }
  // Moves what the container left in /out to the destination: a single
  // entry as itself, else the folder; into an existing folder as ID.out.
  // Works with fds only: the host's /tmp may be covered by then.
  void deliver();

 private:
  std::string dest_, id_, stage_name_, stage_path_;
  unique_fd parent_;  // the folder holding the staging folder
  unique_fd stage_;
  bool into_dir_ = false;  // dest is an existing folder
  bool delivered_ = false;
  std::string dest_name_;  // the name under parent_ when !into_dir_
};

}  // namespace elements::runtime
