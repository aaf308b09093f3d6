// The container of a plan for an outside OCI runtime (runc, crun): a
// runtime-spec bundle, config.json beside rootfs/, with the same process,
// mounts and namespaces as the built-in runtime would use, and a run of that
// bundle by the runtime ELEMENTS_OCI_RUNTIME names.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/container/container.hpp"
#include "runtime/container/plan.hpp"

namespace elements::runtime {

// Who writes the bundle: a caller who is not root gets a user namespace
// mapping its own uid and gid, as the built-in runtime makes.
struct oci_caller {
  unsigned uid = 0;
  unsigned gid = 0;
  bool terminal = false;           // stdin is a terminal: the process gets one
  std::uint64_t bounding = ~0ull;  // CapBnd of /proc/self/status: what the container may get
  bool resolv_conf = true;         // the host has /etc/resolv.conf
  bool hosts = true;               // the host has /etc/hosts
};

// The text of config.json for `p`. `root` is the bundle's root path ("rootfs" or an
// absolute path); `out` the host folder bound at /out when p.output is set.
std::string oci_config(const plan& p, const oci_caller& caller, const std::string& root,
                       const std::string& out);

// --elements-oci-bundle DIR: writes DIR/config.json and DIR/rootfs/ (and
// DIR/out/ for an output arg). DIR must be new or an empty folder (else
// usage_error, exit 2); on failure nothing is left in it.
void write_oci_bundle(const run_request& req, const std::string& dir);

// ELEMENTS_OCI_RUNTIME=runc|crun|PATH: writes the bundle to a temporary
// folder, runs `RUNTIME --root STATE run --bundle DIR ID` with stdio passed
// through and signals forwarded, delivers /out, and returns its exit status.
// The bundle and the container's state are removed whatever happens.
int run_in_oci_runtime(const run_request& req, const std::string& runtime);

}  // namespace elements::runtime
