#include "runtime/container/oci_bundle.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>

#include "elements/error.hpp"
#include "elements/private_dir.hpp"
#include "elements/process.hpp"
#include "elements/read_file.hpp"
#include "elements/unique_fd.hpp"
#include "runtime/container/output.hpp"
#include "runtime/container/signal_forwarding.hpp"
#include "runtime/mount/mount_plan.hpp"
#include "runtime/mount/squash_extract.hpp"

extern char** environ;

namespace elements::runtime {
namespace {

// Capability numbers 0..40 (linux/capability.h), as OCI names them.
constexpr const char* capability_names[] = {"CHOWN",
                                            "DAC_OVERRIDE",
                                            "DAC_READ_SEARCH",
                                            "FOWNER",
                                            "FSETID",
                                            "KILL",
                                            "SETGID",
                                            "SETUID",
                                            "SETPCAP",
                                            "LINUX_IMMUTABLE",
                                            "NET_BIND_SERVICE",
                                            "NET_BROADCAST",
                                            "NET_ADMIN",
                                            "NET_RAW",
                                            "IPC_LOCK",
                                            "IPC_OWNER",
                                            "SYS_MODULE",
                                            "SYS_RAWIO",
                                            "SYS_CHROOT",
                                            "SYS_PTRACE",
                                            "SYS_PACCT",
                                            "SYS_ADMIN",
                                            "SYS_BOOT",
                                            "SYS_NICE",
                                            "SYS_RESOURCE",
                                            "SYS_TIME",
                                            "SYS_TTY_CONFIG",
                                            "MKNOD",
                                            "LEASE",
                                            "AUDIT_WRITE",
                                            "AUDIT_CONTROL",
                                            "SETFCAP",
                                            "MAC_OVERRIDE",
                                            "MAC_ADMIN",
                                            "SYSLOG",
                                            "WAKE_ALARM",
                                            "BLOCK_SUSPEND",
                                            "AUDIT_READ",
                                            "PERFMON",
                                            "BPF",
                                            "CHECKPOINT_RESTORE"};

// JSON text appended piece by piece: nlohmann/json's builders, or chains
// of string temporaries, would cost the static stub kilobytes more.
struct quoted {
  std::string_view v;
};
struct text {
  std::string s;
  text& operator<<(std::string_view v) {
    s.append(v);
    return *this;
  }
  text& operator<<(unsigned n) { return *this << std::string_view(std::to_string(n)); }
  text& operator<<(quoted q) {
    s += '"';
    for (char c : q.v) {
      if (c == '"' || c == '\\') {
        s += '\\';
        s += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        static constexpr char hex[] = "0123456789abcdef";
        s += "\\u00";
        s += hex[(c >> 4) & 0xf];
        s += hex[c & 0xf];
      } else {
        s += c;
      }
    }
    s += '"';
    return *this;
  }
  template <typename Items>
  text& list(const Items& items) {
    *this << "[";
    const char* comma = "";
    for (std::string_view i : items) *this << comma << quoted{i}, comma = ", ";
    return *this << "]";
  }
};

void oci_mount(text& t, std::string_view destination, std::string_view type,
               std::string_view source, const std::vector<std::string_view>& options) {
  t << (t.s.back() == '[' ? "\n    " : ",\n    ") << "{\"destination\": " << quoted{destination}
    << ", \"type\": " << quoted{type} << ", \"source\": " << quoted{source} << ", \"options\": ";
  t.list(options) << "}";
}

// A mount_op's flags and data as OCI options, binds first naming how and
// whether they are writable.
std::vector<std::string_view> oci_options(const mount_op& op, bool bind) {
  std::vector<std::string_view> o;
  if (bind) o.push_back(op.recursive ? "rbind" : "bind");
  const bool ro = op.read_only || (op.flags & MS_RDONLY);
  if (bind && op.kind != mount_kind::sys_bind) o.push_back(ro ? "ro" : "rw");
  if ((op.flags & MS_NOSUID) || (op.attrs & MOUNT_ATTR_NOSUID)) o.push_back("nosuid");
  if ((op.flags & MS_NODEV) || (op.attrs & MOUNT_ATTR_NODEV)) o.push_back("nodev");
  if ((op.flags & MS_NOEXEC) || (op.attrs & MOUNT_ATTR_NOEXEC)) o.push_back("noexec");
  if (op.flags & MS_STRICTATIME) o.push_back("strictatime");
  for (std::string_view rest = op.options; !rest.empty();) {
    const auto comma = rest.find(',');
    o.push_back(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  if (ro && (!bind || op.kind == mount_kind::sys_bind)) o.push_back("ro");
  return o;
}

// The built-in runtime's list of mounts: the root's own are the bundle's
// "root", the device nodes and links of a minimal /dev runc and crun add
// themselves, and the pivot is theirs.
void mounts(text& t, const plan& p, const oci_caller& caller, const std::string& out) {
  mount_facts facts;
  facts.privileged = caller.uid == 0;
  facts.resolv_conf = caller.resolv_conf;
  facts.hosts = caller.hosts;
  t << "[";
  for (const mount_op& op : plan_mounts(p, facts)) {
    switch (op.kind) {
      case mount_kind::proc:
      case mount_kind::dev_tmpfs:
      case mount_kind::devpts:
      case mount_kind::tmp:
      case mount_kind::sysfs:
        oci_mount(t, op.target, op.fstype, op.source, oci_options(op, false));
        break;
      case mount_kind::shm:
        // The source runc's own default config gives it.
        oci_mount(t, op.target, op.fstype, "shm", oci_options(op, false));
        break;
      case mount_kind::sys_bind:
      case mount_kind::host_file:
      case mount_kind::user_bind:
        oci_mount(t, op.target, "bind", op.source, oci_options(op, true));
        break;
      case mount_kind::out:
        oci_mount(t, op.target, "bind", out, oci_options(op, true));
        break;
      case mount_kind::bind_image:
      case mount_kind::overlay_layers:
      case mount_kind::overlay:
      case mount_kind::make_target:
      case mount_kind::remount_root_ro:
      case mount_kind::protect_proc:
      case mount_kind::dev_node:
      case mount_kind::dev_symlink:
      case mount_kind::pivot:
        break;
    }
  }
  t << "\n  ]";
}

void id_map(text& t, const char* name, unsigned inside, unsigned outside) {
  t << ",\n    \"" << name << "\": [{\"containerID\": " << inside << ", \"hostID\": " << outside
    << ", \"size\": 1}]";
}

}  // namespace

std::string oci_config(const plan& p, const oci_caller& caller, const std::string& root,
                       const std::string& out) {
  const bool privileged = caller.uid == 0;
  const unsigned uid = p.user == user_mode::root ? 0 : caller.uid;
  const unsigned gid = p.user == user_mode::root ? 0 : caller.gid;
  text t;
  t << "{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {\n    \"terminal\": "
    << (caller.terminal ? "true" : "false") << ",\n    \"user\": {\"uid\": " << uid
    << ", \"gid\": " << gid << "},\n    \"args\": ";
  t.list(p.argv) << ",\n    \"env\": ";
  t.list(p.env) << ",\n    \"cwd\": " << quoted{p.workdir} << ",\n    \"capabilities\": {";

  // Root in the container has every capability the caller's bounding set
  // allows, as under the built-in runtime; another uid only keeps them in
  // its bounding set.
  std::vector<std::string> caps;
  for (std::size_t i = 0; i < std::size(capability_names); ++i)
    if (caller.bounding >> i & 1) caps.push_back(std::string("CAP_") + capability_names[i]);
  for (const char* set : {"bounding", "effective", "permitted"}) {
    if (uid != 0 && set[0] != 'b') break;
    t << (set[0] == 'b' ? "\"" : ", \"") << set << "\": ";
    t.list(caps);
  }
  t << "},\n    \"noNewPrivileges\": true\n  },\n  \"root\": {\"path\": " << quoted{root}
    << ", \"readonly\": " << (p.writable == writable_mode::none ? "true" : "false")
    << "},\n  \"hostname\": " << quoted{p.hostname} << ",\n  \"mounts\": ";
  mounts(t, p, caller, out);

  std::vector<std::string_view> namespaces = {"pid", "ipc", "uts", "mount"};
  if (p.network == network_mode::none) namespaces.push_back("network");
  if (!privileged) namespaces.push_back("user");
  t << ",\n  \"linux\": {\n    \"namespaces\": [";
  for (std::size_t i = 0; i < namespaces.size(); ++i)
    t << (i ? ", " : "") << "{\"type\": " << quoted{namespaces[i]} << "}";
  t << "]";
  if (!privileged) {
    id_map(t, "uidMappings", uid, caller.uid);
    id_map(t, "gidMappings", gid, caller.gid);
  }
  t << "\n  }\n}\n";
  return std::move(t.s);
}

namespace {

oci_caller this_caller() {
  oci_caller c;
  c.uid = ::geteuid();
  c.gid = ::getegid();
  c.terminal = ::isatty(STDIN_FILENO) == 1;
  const std::string status = read_file("/proc/self/status");
  if (auto at = status.find("\nCapBnd:"); at != std::string::npos)
    c.bounding = std::strtoull(status.c_str() + at + 8, nullptr, 16);
  c.resolv_conf = ::access("/etc/resolv.conf", F_OK) == 0;
  c.hosts = ::access("/etc/hosts", F_OK) == 0;
  return c;
}

void write_text(int dir, const char* name, const std::string& text, const std::string& where) {
  unique_fd fd(::openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) throw_errno("create", where);
  for (std::size_t done = 0; done < text.size();) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_errno("write", where);
    done += static_cast<std::size_t>(n);
  }
}

// Fills the open, empty folder `dir`: rootfs/ (the payload's, or the
// extracted tree's own when there is no payload) and config.json.
void fill_bundle(const run_request& req, int dir, const std::string& path, const std::string& out) {
  std::string root = "rootfs";
  if (req.file) {
    extract_options opts;
    opts.pattern = "rootfs";
    opts.display = path + "/";
    opts.space_hint = "free some space, or write the bundle somewhere else";
    extract_tree(*req.file, dir, opts);
  } else {
    // The tree is the user's own, not a copy: an OCI runtime would write into it.
    if (req.p->writable != writable_mode::none)
      throw error(
          "an extracted tree with \"writable\" cannot go to an OCI runtime: it would change "
          "the tree itself (hint: run the AppImage file instead of its extracted AppRun)");
    char* real = ::realpath((req.directory + "/rootfs").c_str(), nullptr);
    if (!real) throw_errno("find", req.directory + "/rootfs");
    root = real;
    std::free(real);
  }
  write_text(dir, "config.json", oci_config(*req.p, this_caller(), root, out),
             path + "/config.json");
}

std::string parent_of(const std::string& path) {
  auto slash = path.find_last_not_of('/') == std::string::npos ? 0 : path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

// The runtime's executable: a path, or a name looked up in PATH.
std::string find_runtime(const std::string& name, const std::string& path) {
  const std::string hint =
      " (hint: install runc or crun, give its path, or unset ELEMENTS_OCI_RUNTIME to use the "
      "built-in runtime)";
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) != 0)
      throw error("ELEMENTS_OCI_RUNTIME=" + name + ": " + std::strerror(errno) + hint);
    return name;
  }
  // runc lives in /usr/sbin, which a user's PATH often lacks.
  const std::string dirs = path + ":/usr/local/sbin:/usr/sbin:/sbin";
  if (std::string found = find_program(name, dirs, empty_entry::current_dir); !found.empty())
    return found;
  throw error("ELEMENTS_OCI_RUNTIME=" + name + ": not found in PATH or the sbin folders" + hint);
}

// Runs argv with stdio passed through; signals the runtime forwards reach it
// too. Returns its exit status (128+N for signal N).
int run_forwarding(const std::vector<std::string>& args, bool quiet) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const sigset_t signals = forwarded_signals();
  sigset_t old;
  check(::sigprocmask(SIG_BLOCK, &signals, &old), "block", "signals");
  scope_exit restore([&] { ::sigprocmask(SIG_SETMASK, &old, nullptr); });
  const pid_t child = check(::fork(), "start", args[0]);
  if (child == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (quiet) {
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, STDOUT_FILENO), ::dup2(null, STDERR_FILENO);
    }
    ::execv(argv[0], argv.data());
    _exit(exit_not_executable);
  }
  return forward_signals_until_exit(child, signals, reap::child);
}

}  // namespace

void write_oci_bundle(const run_request& req, const std::string& given) {
  std::string dir = given;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const std::string what = "--elements-oci-bundle: \"" + dir + "\"";
  bool made = false;
  if (::mkdir(dir.c_str(), 0755) == 0) {
    made = true;
  } else if (errno != EEXIST) {
    throw usage_error(what + ": cannot create it: " + std::strerror(errno) +
                      " (give a new folder in an existing, writable one)");
  }
  unique_fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw usage_error(what + " is not a folder (give a new or empty folder)");
  if (!made) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::fdopendir(::dup(fd.get())), ::closedir);
    if (!d) throw_errno("read", dir);
    while (dirent* e = ::readdir(d.get()))
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, ".."))
        throw usage_error(what + " is not empty (give a new or empty folder)");
  }
  scope_exit undo([&] {
    if (made) {
      unique_fd parent(::open(parent_of(dir).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      remove_tree(parent.get(), dir.substr(dir.rfind('/') + 1).c_str());
    } else {
      for (const char* name : {"rootfs", "out", "config.json"}) remove_tree(fd.get(), name);
    }
  });
  std::string out;
  if (req.p->output) {
    out = dir + "/out";
    check(::mkdirat(fd.get(), "out", 0755), "create", out);
  }
  fill_bundle(req, fd.get(), dir, out);
  undo.dismiss();
}

int run_in_oci_runtime(const run_request& req, const std::string& runtime) {
  const std::string exe = find_runtime(runtime, req.folders.path);
  const plan& p = *req.p;
  // Held from here on, so an interrupt while the bundle is written still
  // finds it removed below, and one after reaches the container.
  const sigset_t signals = forwarded_signals();
  check(::sigprocmask(SIG_BLOCK, &signals, nullptr), "block", "signals");
  const std::string temp = make_temp_dir(req.folders.temp, "elements-oci.");
  const std::string bundle = temp + "/bundle", state = temp + "/state";
  std::optional<output_stage> output;
  scope_exit cleanup([&] {
    // After a run the runtime deletes its container; one it could not end
    // is deleted here, before its state goes with the temporary folder.
    if (::access((state + "/" + p.id).c_str(), F_OK) == 0)
      run_forwarding({exe, "--root", state, "delete", "--force", p.id}, true);
    unique_fd parent(::open(parent_of(temp).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    remove_tree(parent.get(), temp.substr(temp.rfind('/') + 1).c_str());
  });
  check(::mkdir(bundle.c_str(), 0700), "create", bundle);
  check(::mkdir(state.c_str(), 0700), "create", state);
  unique_fd fd(check(::open(bundle.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open", bundle));
  if (p.output) output.emplace(*p.output, p.id);
  fill_bundle(req, fd.get(), bundle, output ? output->path() : std::string());
  sigset_t pending;
  ::sigpending(&pending);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT})
    if (sigismember(&pending, sig)) return 128 + sig;  // asked to stop before it started
  const int status = run_forwarding({exe, "--root", state, "run", "--bundle", bundle, p.id}, false);
  if (output) output->deliver();
  return status;
}

}  // namespace elements::runtime
