// The --appimage-* words, as the AppImage type 2 runtime does them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runtime/host_context.hpp"
#include "runtime/image/self_image.hpp"

namespace elements::runtime {

// Handles args[0] when it is an --appimage-* word that ends the run, or
// --elements-verify (like --appimage-signature, about the file itself), and
// returns the exit status; std::nullopt when args[0] is not one of them.
// --appimage-extract-and-run is not handled here (it runs the container).
std::optional<int> handle_appimage_option(const self_image& self,
                                          const std::vector<std::string>& args,
                                          const host_folders& folders);

// --appimage-extract-and-run: the payload extracted into a fresh temporary
// directory, which the run uses as its tree and this removes at its end.
// By then a tmpfs of the container's set-up may cover the path's /tmp: the
// tree is removed through its parent's fd.
class extracted_tree {
 public:
  extracted_tree(const self_image& self, const host_folders& folders);
  ~extracted_tree();
  extracted_tree(const extracted_tree&) = delete;
  extracted_tree& operator=(const extracted_tree&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  unique_fd parent_;
};

}  // namespace elements::runtime
