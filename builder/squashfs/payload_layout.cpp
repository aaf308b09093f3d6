#include "builder/squashfs/payload_layout.hpp"

#include "builder/publish/default_icon.hpp"
#include "elements/error.hpp"
#include "elements/payload.hpp"
#include "runtime/mount/mount_plan.hpp"

namespace elements::builder {
namespace {

void ensure(const node_ptr& rootfs, const std::string& path, const node_ptr& fresh,
            const made_attrs& made, std::vector<std::string>& warnings) {
  try {
    located at = locate_or_make_parents(rootfs, path, made);
    if (!at.entry && !at.name.empty()) at.parent->entries[at.name] = fresh;
  } catch (const error& e) {
    warnings.push_back(std::string(e.what()) + " (the runtime cannot mount " + path + ")");
  }
}

// Desktop entry values escape what would end the line (Desktop Entry
// Specification, "Possible value types").
std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> add_mount_points(const node_ptr& rootfs, const spec& s,
                                          const made_attrs& made) {
  std::vector<std::string> warnings;
  auto dir = [&](const std::string& path, mode_t mode) {
    ensure(rootfs, path, make_dir(mode, made), made, warnings);
  };
  auto add = [&](const runtime::mount_point& m) {
    const std::string path(m.path);
    if (m.directory)
      dir(path, m.mode);
    else
      ensure(rootfs, path, make_file(m.mode, memory_file("", "an empty file"), made), made,
             warnings);
  };
  for (const auto& m : runtime::system_mount_points) add(m);
  // The host files' folder, as a plain image has it.
  dir("/etc", 0755);
  for (const auto& m : runtime::host_file_mount_points) add(m);

  // Bind targets are left to the runtime, which knows whether each source is
  // a file or a folder and makes what is missing in an overlay.
  for (const auto& a : s.args)
    if (a.kind == arg_kind::output) add(runtime::out_mount_point);
  return warnings;
}

std::string desktop_entry(const definition& def) {
  std::string d = "[Desktop Entry]\nType=Application\nName=" + def.name + "\n";
  if (!def.run.description.empty())
    d += "Comment=" + escape(def.run.description.substr(0, def.run.description.find('\n'))) + "\n";
  d += "Exec=AppRun\nIcon=" + def.name + "\n";
  d += std::string("Terminal=") + (def.desktop.terminal ? "true" : "false") + "\n";
  std::string categories;
  for (const auto& c : def.desktop.categories) categories += c + ";";
  d += "Categories=" + (categories.empty() ? std::string("Utility;") : categories) + "\n";
  return d;
}

node_ptr make_payload_tree(const definition& def, std::shared_ptr<const file_content> apprun,
                           node_ptr rootfs, const made_attrs& made) {
  node_ptr root = make_dir(0755, made);
  auto& e = root->entries;
  e[std::string(payload::apprun)] = make_file(0755, std::move(apprun), made);
  e[def.name + ".desktop"] =
      make_file(0644, memory_file(desktop_entry(def), def.name + ".desktop"), made);

  std::string icon = def.name + ".png";
  if (def.desktop.icon) {
    icon = def.name + def.desktop.icon->extension().native();
    e[icon] = make_file(0644, host_file(*def.desktop.icon), made);
  } else {
    auto png = default_icon_png();
    e[icon] = make_file(0644, memory_file({png.begin(), png.end()}, "the default icon"), made);
  }
  e[".DirIcon"] = make_symlink(icon, made);

  const auto slash = payload::spec_path.find('/');
  node_ptr meta = make_dir(0755, made);
  meta->entries[std::string(payload::spec_path.substr(slash + 1))] =
      make_file(0644, memory_file(to_json(def.run).dump(), std::string(payload::spec_path)), made);
  e[std::string(payload::spec_path.substr(0, slash))] = meta;
  e[std::string(payload::rootfs_dir)] = std::move(rootfs);
  return root;
}

}  // namespace elements::builder
