#include "builder/sources/layers.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <set>

#include "builder/sources/archive_reader.hpp"
#include "elements/error.hpp"

namespace elements::builder {

namespace {

// ---- reading a layer -------------------------------------------------------

struct layer_entry {
  std::string name;               // as the archive spells it
  std::vector<std::string> path;  // its components; empty for the root
  enum class op { add, hard_link, whiteout, opaque, ignore } what = op::add;
  node_ptr n;                     // add
  std::string link_name;          // hard_link: the target as the archive spells it
  std::vector<std::string> link;  // hard_link: its components
};

constexpr std::string_view whiteout_prefix = ".wh.";
constexpr std::string_view opaque_marker = ".wh..wh..opq";

std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

[[noreturn]] void refuse(const layer_input& layer, const std::string& subject,
                         const std::string& why) {
  throw error(layer.name + ": " + subject + " " + why, exit_build_failed);
}

// Entries that would land outside the root are refused, never clamped: a
// layer that tries it is damaged or hostile, and silently moving its files
// elsewhere would build something nobody asked for.
std::vector<std::string> components(const layer_input& layer, const std::string& name) {
  std::string_view rest = name;
  while (rest.starts_with("./")) rest.remove_prefix(2);
  if (rest.starts_with('/'))
    refuse(layer, in_quotes(name), "is an absolute path, outside the root; the layer is refused");
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= rest.size()) {
    std::size_t j = std::min(rest.find('/', i), rest.size());
    std::string_view part = rest.substr(i, j - i);
    if (part == "..")
      refuse(layer, in_quotes(name),
             "leaves its folder with \"..\", outside the root; the layer is refused");
    if (!part.empty() && part != ".") out.emplace_back(part);
    i = j + 1;
  }
  return out;
}

// security.selinux is the label of the machine that built the image; other
// namespaces than user.* and security.* cannot be stored in squashfs (system.*)
// or belong to the host (trusted.*).
bool keep_xattr(std::string_view name) {
  if (name == "security.selinux") return false;
  return name.starts_with("user.") || name.starts_with("security.");
}

std::uint32_t id_of(const layer_input& layer, const std::string& name, la_int64_t v,
                    const char* what) {
  if (v < 0 || v > 0xFFFFFFFE)
    refuse(layer, in_quotes(name),
           std::string("has ") + what + " " + std::to_string(v) + ", which squashfs cannot store");
  return static_cast<std::uint32_t>(v);
}

class entry_reader {
 public:
  entry_reader(const layer_input& layer, archive_reader& r, content_spool& spool)
      : layer_(layer), r_(r), spool_(spool) {}

  layer_entry read(archive_entry* e) {
    layer_entry out;
    const char* name = archive_entry_pathname(e);
    if (!name) name = archive_entry_pathname_utf8(e);
    if (!name || !*name) refuse(layer_, "an entry", "has no name; the layer is damaged");
    out.name = name;
    out.path = components(layer_, out.name);

    if (layer_.whiteouts && !out.path.empty() && out.path.back().starts_with(whiteout_prefix)) {
      const std::string& last = out.path.back();
      if (last == opaque_marker) {
        out.what = layer_entry::op::opaque;
      } else if (last.starts_with(".wh..wh.")) {
        out.what = layer_entry::op::ignore;  // a union filesystem's bookkeeping
      } else {
        out.what = layer_entry::op::whiteout;
        out.path.back() = last.substr(whiteout_prefix.size());
        if (out.path.back().empty() || out.path.back() == "." || out.path.back() == "..")
          refuse(layer_, in_quotes(out.name),
                 "is a whiteout that names nothing; the layer is damaged");
      }
      return out;
    }

    if (const char* target = archive_entry_hardlink(e)) {
      if (out.path.empty())
        refuse(layer_, in_quotes(out.name), "would replace the root folder; the layer is refused");
      out.what = layer_entry::op::hard_link;
      out.link_name = target;
      out.link = components(layer_, out.link_name);
      return out;
    }

    auto n = std::make_shared<node>();
    const mode_t type = archive_entry_filetype(e);
    n->mode = type | (archive_entry_perm(e) & 07777);
    n->uid = id_of(layer_, out.name, archive_entry_uid(e), "owner");
    n->gid = id_of(layer_, out.name, archive_entry_gid(e), "group");
    n->mtime = archive_entry_mtime(e);
    switch (type) {
      case AE_IFREG:
        n->content = spool_.add(r_, e, layer_.name + ": /" + join(out.path));
        break;
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(e);
        if (!target || !*target) target = archive_entry_symlink_utf8(e);
        if (!target || !*target)
          refuse(layer_, in_quotes(out.name), "is a symlink to nothing; the layer is damaged");
        n->link_target = target;
        // Linux shows every symlink as 0777 and ignores the bits; archives
        // written elsewhere may carry others.
        n->mode = S_IFLNK | 0777;
        break;
      }
      case AE_IFCHR:
      case AE_IFBLK:
        n->rdev = archive_entry_rdev(e);
        break;
      case AE_IFDIR:
      case AE_IFIFO:
      case AE_IFSOCK:
        break;
      default:
        refuse(layer_, in_quotes(out.name),
               "has a file type tar does not define; the layer is damaged");
    }
    if (out.path.empty() && type != AE_IFDIR)
      refuse(layer_, in_quotes(out.name), "would replace the root folder; the layer is refused");
    read_xattrs(e, *n, out.path);
    out.n = std::move(n);
    return out;
  }

  const std::set<std::string>& dropped_xattrs() const { return dropped_; }

  static std::string join(const std::vector<std::string>& path) {
    std::string s;
    for (const auto& p : path) s += (s.empty() ? "" : "/") + p;
    return s;
  }

 private:
  void read_xattrs(archive_entry* e, node& n, const std::vector<std::string>& path) {
    archive_entry_xattr_reset(e);
    const char* key = nullptr;
    const void* value = nullptr;
    std::size_t size = 0;
    while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
      if (keep_xattr(key))
        n.xattrs[key] = std::string(static_cast<const char*>(value), size);
      else if (std::string_view(key) != "security.selinux")
        dropped_.insert(std::string(key) + " on /" + join(path));
    }
  }

  const layer_input& layer_;
  archive_reader& r_;
  content_spool& spool_;
  std::set<std::string> dropped_;
};

// ---- applying a layer ------------------------------------------------------

class applier {
 public:
  applier(node& root, const made_attrs& made, const layer_input& layer)
      : root_(root), made_(made), layer_(layer) {}

  // Whiteouts hide what lower layers made, never the layer's own entries
  // (OCI image spec, "Whiteouts"), so they all go before any entry is added.
  void hide(const layer_entry& e) {
    node* dir = folder_for(e.path, in_quotes(e.name), false);
    if (!dir) return;
    if (e.what == layer_entry::op::whiteout) {
      dir->entries.erase(e.path.back());
      return;
    }
    dir->entries.clear();
  }

  void add(const layer_entry& e) {
    const std::string subject = in_quotes(e.name);
    if (e.path.empty()) {
      copy_metadata(root_, *e.n);
      return;
    }
    node_ptr linked = e.what == layer_entry::op::hard_link ? link_target(e) : nullptr;
    node* dir = folder_for(e.path, subject, true);
    node_ptr& slot = dir->entries[e.path.back()];
    if (linked) {
      slot = std::move(linked);
      return;
    }
    // A folder entry over a folder updates it in place: its contents stay,
    // as tar does when it extracts over an existing tree.
    if (e.n->is_dir() && slot && slot->is_dir())
      copy_metadata(*slot, *e.n);
    else
      slot = e.n;
  }

 private:
  static void copy_metadata(node& to, const node& from) {
    to.mode = from.mode;
    to.uid = from.uid;
    to.gid = from.gid;
    to.mtime = from.mtime;
    to.xattrs = from.xattrs;
  }

  // The folder that holds `path`'s last component. Missing folders are made
  // when `make` is set; otherwise a missing or non-folder parent gives null.
  // A symlink on the way is refused whatever its target: following it inside
  // the tree would write where the layer did not say, and outside is worse.
  node* folder_for(const std::vector<std::string>& path, const std::string& subject, bool make) {
    node* dir = &root_;
    std::string at;
    for (std::size_t i = 0; i + 1 < path.size(); ++i) {
      at += "/" + path[i];
      auto it = dir->entries.find(path[i]);
      if (it == dir->entries.end()) {
        if (!make) return nullptr;
        it = dir->entries.emplace(path[i], make_dir(0755, made_)).first;
      }
      node& next = *it->second;
      if (S_ISLNK(next.mode))
        refuse(layer_, subject,
               "goes through the symlink " + at + " (-> " + next.link_target +
                   "), which could lead outside the root; the layer is refused");
      if (!next.is_dir()) {
        if (!make) return nullptr;
        refuse(layer_, subject, "needs " + at + " to be a folder, but it is not");
      }
      dir = &next;
    }
    return dir;
  }

  node_ptr link_target(const layer_entry& e) {
    const std::string subject =
        in_quotes(e.name) + " (a hard link to " + in_quotes(e.link_name) + ")";
    if (e.link.empty()) refuse(layer_, subject, "links to the root folder; the layer is refused");
    node* dir = folder_for(e.link, subject, false);
    node_ptr target;
    if (dir)
      if (auto it = dir->entries.find(e.link.back()); it != dir->entries.end()) target = it->second;
    if (!target)
      refuse(layer_, subject,
             "links to a path that is not in the rootfs yet; the layer is damaged");
    if (target->is_dir()) refuse(layer_, subject, "links to a folder; the layer is damaged");
    return target;
  }

  node& root_;
  const made_attrs& made_;
  const layer_input& layer_;
};

std::uint64_t file_size(int fd, const std::string& name) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_errno("stat", name);
  return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace

layer_stack::layer_stack(const made_attrs& made, layer_observer observer)
    : root_(make_dir(0755, made)), made_(made), observer_(std::move(observer)) {}

layer_stack::layer_stack(node_ptr root, const made_attrs& made)
    : root_(std::move(root)), made_(made) {}

void layer_stack::apply(const layer_input& layer) {
  std::vector<layer_entry> entries;
  std::optional<archive_reader> reader;
  std::set<std::string> dropped;
  // A damaged or hostile archive is read to its end before its fault is
  // reported: when its digest is wrong, that is the fault to report.
  std::exception_ptr failure;
  try {
    reader.emplace(layer.fd.get(), layer.name, archive_reader::format::tar,
                   layer.digest || layer.diff_id, layer.diff_id.has_value());
    entry_reader parse(layer, *reader, spool_);
    while (archive_entry* e = reader->next()) entries.push_back(parse.read(e));
    dropped = parse.dropped_xattrs();
  } catch (const error&) {
    failure = std::current_exception();
  }
  std::optional<archive_reader::digest_result> got;
  if (layer.digest || layer.diff_id)
    got = reader ? reader->finish()
                 : archive_reader::digest_result{sha256_of_fd(layer.fd.get(), layer.name),
                                                 file_size(layer.fd.get(), layer.name), ""};
  if (layer.digest) {
    if (got->digest != *layer.digest)
      throw error(layer.name + ": the blob's bytes hash to " + got->digest +
                      ", not to the digest that names them: the image is damaged or was "
                      "altered (fetch or save it again)",
                  exit_build_failed);
    if (layer.size && got->size != *layer.size)
      throw error(layer.name + ": the blob is " + std::to_string(got->size) +
                      " bytes, its descriptor says " + std::to_string(*layer.size) +
                      " (the image is damaged: fetch or save it again)",
                  exit_build_failed);
  }
  if (failure) std::rethrow_exception(failure);
  // The blob is the one the manifest names; the tar in it must be the one
  // the config names, or the image was put together from mismatching parts.
  if (layer.diff_id && got->tar_digest != *layer.diff_id)
    throw error(
        layer.name + ": " +
            (got->tar_digest.empty() ? "does not decompress to its end"
                                     : "decompresses to a tar whose digest is " + got->tar_digest) +
            ", not the diff_id " + *layer.diff_id +
            " the image config lists for it: the image is damaged or was altered (fetch "
            "or save it again)",
        exit_build_failed);

  applier to(*root_, made_, layer);
  for (const auto& e : entries)
    if (e.what == layer_entry::op::whiteout || e.what == layer_entry::op::opaque) to.hide(e);
  for (const auto& e : entries)
    if (e.what == layer_entry::op::add || e.what == layer_entry::op::hard_link) to.add(e);

  ++applied_;
  if (observer_)
    observer_(layer.name, file_size(layer.fd.get(), layer.name), applied_,
              std::max(expected_, applied_));
  if (!dropped.empty())
    warnings_.push_back(layer.name + ": left out " + std::to_string(dropped.size()) +
                        " xattr(s) squashfs cannot store or the container cannot use, such as " +
                        *dropped.begin());
}

std::string uncompressed_sha256(int fd, const std::string& name) {
  archive_reader r(fd, name, archive_reader::format::raw, false);
  sha256_hasher h;
  if (r.next()) r.read_data([&](std::span<const unsigned char> bytes) { h.update(bytes); });
  return h.digest();
}

}  // namespace elements::builder
