// What elements-pack says on stderr while it works (DESIGN.md section 4:
// --progress, -q). Each phase is one plain line ("elements-pack: writing
// app.AppImage (zstd:15)"), so a log shows how far a build got. On a
// terminal (--progress auto) or with --progress always, a status line under
// them is redrawn in place: the layers read, then the bytes compressed of
// the total, the rate and the time left. -q prints nothing but errors.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "builder/cli.hpp"

namespace elements::builder {

class progress {
 public:
  progress(progress_mode mode, bool quiet);
  ~progress();
  progress(const progress&) = delete;
  progress& operator=(const progress&) = delete;

  void phase(const std::string& message);
  void warn(const std::string& message);
  // Layer `number` of `count` was read: `name`, `bytes` as stored.
  void layer(const std::string& name, std::uint64_t bytes, std::size_t number, std::size_t count);
  // `done` bytes of file contents of `total` (0: unknown) went to the compressor.
  void data(std::uint64_t done, std::uint64_t total);

 private:
  void line(const std::string& text);    // a line that stays, above the status line
  void status(const std::string& text);  // the status line, redrawn
  void clear_status();

  bool lines_;
  bool live_;
  bool warnings_;
  bool status_shown_ = false;
  std::uint64_t layer_bytes_ = 0;
  bool data_started_ = false;
  std::chrono::steady_clock::time_point data_start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// "12.3 MiB", "512 KiB", "17 B".
std::string human_bytes(double bytes);

}  // namespace elements::builder
