// The output appears whole or not at all: written as FILE.tmp.PID next to
// FILE, then fchmod, fsync and rename. Until commit() the temp file is
// removed when the owner goes away and on SIGINT, SIGTERM or SIGHUP.
#pragma once

#include <filesystem>
#include <string>

#include "elements/unique_fd.hpp"

namespace elements::builder {

class output_file {
 public:
  explicit output_file(std::filesystem::path target);
  output_file(const output_file&) = delete;
  output_file& operator=(const output_file&) = delete;
  ~output_file();

  int fd() const noexcept { return fd_.get(); }
  const std::filesystem::path& temp_path() const noexcept { return temp_; }

  // Makes the file executable, flushes it to disk and moves it into place.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  unique_fd fd_;
  bool committed_ = false;
};

}  // namespace elements::builder
