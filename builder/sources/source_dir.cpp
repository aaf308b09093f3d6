// The dir: source: a rootfs unpacked in a folder of the host.
#include <sys/stat.h>

#include "builder/sources/host_tree.hpp"
#include "builder/sources/source.hpp"
#include "elements/error.hpp"

namespace elements::builder {
namespace {

class dir_source final : public source {
 public:
  explicit dir_source(std::filesystem::path path) : path_(std::move(path)) {}

  node_ptr read_tree(const made_attrs&) override {
    host_read_options options;
    options.owners = owner_map::for_caller();
    // "dir:rootfs" may well be a symlink to the real folder.
    options.follow_top = true;
    node_ptr root = read_host_tree(path_, options);
    if (!root->is_dir())
      throw error(path_.native() + " is not a folder (dir: needs the folder holding the rootfs)",
                  exit_usage);
    return root;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace

std::unique_ptr<source> make_dir_source(std::filesystem::path path) {
  return std::make_unique<dir_source>(std::move(path));
}

}  // namespace elements::builder
