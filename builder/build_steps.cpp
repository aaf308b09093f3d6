#include "build_steps.hpp"

#include "host_tree.hpp"

namespace elements::builder {
namespace {

void merge_into(node& dir, const node& from) {
  for (const auto& [name, entry] : from.entries) {
    auto it = dir.entries.find(name);
    // Folders already in the rootfs keep their own owner and mode, as /etc
    // stays /etc when a file is copied into it.
    if (it != dir.entries.end() && it->second->is_dir() && entry->is_dir())
      merge_into(*it->second, *entry);
    else
      dir.entries[name] = entry;
  }
}

// The folder `path` names, following a final symlink (within the tree).
node_ptr folder_at(const node_ptr& root, const std::string& path) {
  auto found = locate(root, path + "/.");
  return found && found->entry && found->entry->is_dir() ? found->entry : nullptr;
}

}  // namespace

void apply_copy(const node_ptr& rootfs, const copy_step& step, const made_attrs& made) {
  host_read_options options;
  options.owner = step.owner.value_or(std::pair<std::uint32_t, std::uint32_t>{0, 0});
  options.mode = step.mode;
  options.follow_top = true;
  node_ptr copied = read_host_tree(step.source, options);

  std::string target = step.target;
  const bool into = target.size() > 1 && target.back() == '/';
  while (target.size() > 1 && target.back() == '/') target.pop_back();

  if (node_ptr folder = folder_at(rootfs, target)) {
    if (copied->is_dir()) {
      merge_into(*folder, *copied);
      return;
    }
    // A file source's path always ends in a name: stat refused "file/" and
    // "." or ".." are folders.
    folder->entries[step.source.filename().native()] = copied;
    return;
  }
  if (into && !copied->is_dir()) target += "/" + step.source.filename().native();
  located at = locate_or_make_parents(rootfs, target, made);
  if (at.name.empty()) {
    merge_into(*rootfs, *copied);  // the target was "/" itself
    return;
  }
  at.parent->entries[at.name] = copied;
}

}  // namespace elements::builder
