#include "builder/steps/build_steps.hpp"

#include <algorithm>
#include <optional>

#include "builder/sources/host_tree.hpp"
#include "builder/sources/layers.hpp"
#include "builder/steps/step_cache.hpp"
#include "builder/steps/step_run.hpp"
#include "elements/error.hpp"

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

node_ptr read_copy(const copy_step& step) {
  host_read_options options;
  options.owner = step.owner.value_or(std::pair<std::uint32_t, std::uint32_t>{0, 0});
  options.mode = step.mode;
  options.follow_top = true;
  return read_host_tree(step.source, options);
}

void apply_copy(const node_ptr& rootfs, const copy_step& step, const made_attrs& made) {
  place_copy(rootfs, step, read_copy(step), made);
}

void place_copy(const node_ptr& rootfs, const copy_step& step, const node_ptr& copied,
                const made_attrs& made) {
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

namespace elements::builder {
namespace {

// The command's environment: PATH as the image (or the definition) sets it
// when it needs no expansion, else the usual one; HOME of root.
std::vector<std::string> step_environment(const definition& def) {
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& [name, value] : def.run.env)
    if (name == "PATH" && value.value.find('$') == std::string::npos) path = value.value;
  return {"PATH=" + path, "HOME=/root"};
}

}  // namespace

void apply_build_steps(node_ptr& rootfs, const definition& def, const made_attrs& made,
                       const build_options& options) {
  const bool runs = std::any_of(def.build.begin(), def.build.end(),
                                [](const build_step& s) { return s.run.has_value(); });
  std::optional<step_cache> cache;
  if (runs && options.use_cache) {
    if (auto dir = step_cache_dir())
      cache.emplace(*dir);
    else
      options.warn("no step cache: set XDG_CACHE_HOME or HOME to an absolute path to keep one");
  }
  // The key chain starts at the base tree; only a cache needs it.
  std::string key = cache ? tree_digest(rootfs) : std::string();
  // What a run step makes depends on the ids it may give: part of its key.
  const std::string ids = runs ? caller_id_mapping().describe() : std::string();
  layer_stack stack(rootfs, made);
  const std::string total = std::to_string(def.build.size());
  for (std::size_t i = 0; i < def.build.size(); ++i) {
    const build_step& step = def.build[i];
    const std::string label = "step " + std::to_string(i + 1) + "/" + total;
    if (step.copy) {
      options.phase(label + ": " + step.summary);
      node_ptr copied = read_copy(*step.copy);
      if (cache) key = step_key(key, step.canonical, tree_digest(copied));
      place_copy(rootfs, *step.copy, copied, made);
      continue;
    }
    if (cache) key = step_key(key, step.canonical, ids);
    unique_fd layer = cache ? cache->find(key) : unique_fd();
    if (layer) {
      options.phase(label + ": " + step.summary + " (cached " + key.substr(0, 12) + ")");
    } else {
      options.phase(label + ": " + step.summary + ", " + ids);
      step_run_options run;
      run.what = label + " (" + step.pointer + ": " + step.summary + ")";
      run.prefix = "[" + label + "] ";
      if (options.show_output) run.out = options.output;
      run.env = step_environment(def);
      layer = run_build_step(rootfs, step, run);
      if (cache) {
        try {
          cache->store(key, layer.get(), step.summary);
        } catch (const error& e) {
          options.warn(std::string("not cached: ") + e.what());
        }
      }
    }
    layer_input in;
    in.fd = std::move(layer);
    in.name = label + " (" + step.pointer + ")";
    stack.apply(in);
  }
  for (const auto& w : stack.warnings()) options.warn(w);
}

}  // namespace elements::builder
