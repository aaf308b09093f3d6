#include "builder/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace elements::builder {
namespace {

// Redraws are cheap, but a terminal over a slow link is not.
constexpr auto redraw_every = std::chrono::milliseconds(100);

std::string clock_time(double seconds) {
  const auto s = static_cast<long long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  return buf;
}

}  // namespace

std::string human_bytes(double bytes) {
  char buf[32];
  if (bytes >= 1024.0 * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / (1024.0 * 1024 * 1024));
  else if (bytes >= 1024.0 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1024.0 * 1024));
  else if (bytes >= 1024.0)
    std::snprintf(buf, sizeof buf, "%.0f KiB", bytes / 1024.0);
  else
    std::snprintf(buf, sizeof buf, "%.0f B", bytes);
  return buf;
}

progress::progress(progress_mode mode, bool quiet)
    : lines_(!quiet),
      live_(!quiet && (mode == progress_mode::always ||
                       (mode == progress_mode::automatic && ::isatty(STDERR_FILENO)))),
      warnings_(!quiet) {}

progress::~progress() {
  clear_status();
}

void progress::clear_status() {
  if (!status_shown_) return;
  std::fputs("\r\x1b[K", stderr);
  status_shown_ = false;
}

void progress::line(const std::string& text) {
  clear_status();
  std::fprintf(stderr, "elements-pack: %s\n", text.c_str());
}

void progress::status(const std::string& text) {
  std::fprintf(stderr, "\relements-pack: %s\x1b[K", text.c_str());
  std::fflush(stderr);
  status_shown_ = true;
}

void progress::phase(const std::string& message) {
  if (lines_) line(message);
  data_started_ = false;
}

void progress::warn(const std::string& message) {
  if (warnings_) line("warning: " + message);
}

void progress::layer(const std::string& name, std::uint64_t bytes, std::size_t number,
                     std::size_t count) {
  layer_bytes_ += bytes;
  const std::string of = std::to_string(number) + " of " + std::to_string(count);
  if (live_)
    status("layers read: " + of + " (" + human_bytes(static_cast<double>(layer_bytes_)) + ")");
  else if (lines_)
    line("read layer " + of + ": " + name + " (" + human_bytes(static_cast<double>(bytes)) + ")");
}

void progress::data(std::uint64_t done, std::uint64_t total) {
  if (!live_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!data_started_) {
    data_started_ = true;
    data_start_ = last_draw_ = now;
  }
  // The last call (all done) is always drawn, so the line ends complete.
  const bool finished = total != 0 && done >= total;
  if (!finished && now - last_draw_ < redraw_every) return;
  last_draw_ = now;

  const double seconds = std::chrono::duration<double>(now - data_start_).count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  std::string text = "compressed " + human_bytes(static_cast<double>(done));
  if (total != 0)
    text += " of " + human_bytes(static_cast<double>(total)) + " (" +
            std::to_string(std::min(done, total) * 100 / total) + "%)";
  text += ", " + (rate > 0 ? human_bytes(rate) : std::string("--")) + "/s";
  if (total != 0)
    text += ", ETA " + (finished   ? clock_time(0)
                        : rate > 0 ? clock_time(static_cast<double>(total - done) / rate)
                                   : std::string("--:--"));
  status(text);
}

}  // namespace elements::builder
