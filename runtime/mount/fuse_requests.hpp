// Answering the kernel's FUSE requests from the image: each request becomes
// reader calls and one errno, here and nowhere else. The server in
// fuse_server.cpp owns the thread and the connection. Internal to runtime/.
#pragma once

#include <linux/fuse.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/image/squash_image.hpp"

namespace elements::runtime {

// Replies to the kernel need at most this much room beyond the header; the
// server's request buffer holds a header and a write of this size.
inline constexpr std::uint32_t fuse_max_write = 4096;

class fuse_requests {
 public:
  // Answers for `fs`, an open image, on `connection`. Files the image gives
  // to uid/gid 0 are shown as owned by `root_uid`/`root_gid`.
  fuse_requests(sqfs& fs, int connection, std::uint32_t root_uid, std::uint32_t root_gid);

  // False when the kernel says the filesystem is going away.
  bool handle(const fuse_in_header& h, const char* arg, std::size_t len);

  // For --elements-debug: how many requests of each kind the kernel sent.
  std::string counts() const;

 private:
  void reply(const fuse_in_header& h, int err, const void* body = nullptr, std::size_t size = 0);
  template <typename T>
  void reply(const fuse_in_header& h, const T& body) {
    reply(h, 0, &body, sizeof body);
  }
  sqfs_inode_id id_of(std::uint64_t nodeid) const;
  std::uint64_t nodeid_of(sqfs_inode_id id) const;
  bool get(std::uint64_t nodeid, sqfs_inode& in);
  fuse_attr attr(const sqfs_inode& in);

  void init(const fuse_in_header& h, const char* arg, std::size_t len);
  void lookup(const fuse_in_header& h, const char* name, std::size_t len);
  void getattr(const fuse_in_header& h);
  void readlink(const fuse_in_header& h);
  void open(const fuse_in_header& h, const char* arg, std::size_t len, bool dir);
  void read(const fuse_in_header& h, const char* arg, std::size_t len);
  void readdir(const fuse_in_header& h, const char* arg, std::size_t len, bool plus);
  void statfs(const fuse_in_header& h);
  void getxattr(const fuse_in_header& h, const char* arg, std::size_t len);
  void listxattr(const fuse_in_header& h, const char* arg, std::size_t len);

  sqfs& fs_;
  squash_reader reader_;
  int connection_;
  bool has_xattrs_;
  std::uint32_t kernel_flags_ = 0;  // what the kernel offered in INIT
  sqfs_inode_id root_id_;
  std::uint32_t root_uid_, root_gid_;
  std::vector<char> data_;
  std::vector<squash_xattr> xattrs_;
  std::uint32_t counts_[64] = {};
};

}  // namespace elements::runtime
