// The ids a rootless build step maps: the caller's subordinate ranges of
// /etc/subuid and /etc/subgid, mapped by newuidmap and newgidmap.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace elements::builder {

// A subordinate id range of /etc/subuid or /etc/subgid.
struct id_range {
  std::uint32_t start = 0;
  std::uint32_t count = 0;
};

// The first range `text` (the contents of /etc/subuid or /etc/subgid) grants
// the user `name` or the numeric id `id`, if any.
std::optional<id_range> find_id_range(std::string_view text, const std::string& name,
                                      std::uint32_t id);

// How a step's container maps ids, for an unprivileged caller: with
// subordinate ids (newuidmap and newgidmap, and ranges in /etc/subuid and
// /etc/subgid), container 0 is the caller and 1..N the range; without them,
// only the caller, as 0. Root needs no mapping.
struct id_mapping {
  std::optional<id_range> uids, gids;  // both set, or neither (single-id)
  std::string newuidmap, newgidmap;    // the programs' paths
  std::string describe() const;        // for progress
};
id_mapping caller_id_mapping();

// newuidmap/newgidmap for `child`, a process that has made its user
// namespace: container 0 is the caller, 1..N the ranges. Throws naming the
// tool and the fix when either fails.
void map_subordinate_ids(pid_t child, const id_mapping& ids);

}  // namespace elements::builder
