// One table per enum: every value has a name, every name parses back to its
// value, and messages list the names in the table's order.

#include "elements/enum_table.hpp"

#include <catch2/catch.hpp>

#include "builder/squashfs/compression.hpp"
#include "elements/spec.hpp"
#include "runtime/mount/squash_mount.hpp"

using namespace elements;

namespace {

// Every value from the first to `last` round-trips through its name, and
// no two values share a name.
template <typename E, std::size_t N>
void check_round_trip(const enum_name<E> (&table)[N], E last) {
  const int count = static_cast<int>(last) + 1;
  CHECK(N == static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    const E e = static_cast<E>(i);
    const char* name = name_of(table, e);
    INFO("value " << i << " named " << name);
    REQUIRE(value_of(table, name).has_value());
    CHECK(*value_of(table, name) == e);
  }
  CHECK_FALSE(value_of(table, "no-such-name").has_value());
  CHECK_FALSE(value_of(table, "").has_value());
}

}  // namespace

TEST_CASE("enum tables: the spec's enums round-trip") {
  check_round_trip(arg_types, arg_type::path);
  check_round_trip(network_modes, network_mode::none);
  check_round_trip(writable_modes, writable_mode::persist);
  check_round_trip(user_modes, user_mode::keep);
}

TEST_CASE("enum tables: the spec's names") {
  CHECK(std::string(to_string(arg_type::int_)) == "int");
  CHECK(std::string(to_string(arg_type::bool_)) == "bool");
  CHECK(std::string(to_string(network_mode::none)) == "none");
  CHECK(std::string(to_string(writable_mode::tmpfs)) == "tmpfs");
  CHECK(std::string(to_string(user_mode::keep)) == "keep");
  CHECK(names_of(arg_types) == "str, int, bool, path");
  CHECK(names_of(network_modes) == "host, none");
  CHECK(names_of(writable_modes) == "none, tmpfs, persist");
  CHECK(names_of(user_modes) == "root, keep");
}

TEST_CASE("enum tables: the spec prints what it parses") {
  const spec s = parse_spec({{"version", 1},
                             {"name", "web"},
                             {"command", {"/bin/sh"}},
                             {"user", "keep"},
                             {"network", "none"},
                             {"writable", "tmpfs"}});
  CHECK(s.user == user_mode::keep);
  CHECK(s.network == network_mode::none);
  CHECK(s.writable == writable_mode::tmpfs);
  const auto doc = to_json(s);
  CHECK(doc["user"] == "keep");
  CHECK(doc["network"] == "none");
  CHECK(doc["writable"] == "tmpfs");
  CHECK(parse_spec(doc).writable == writable_mode::tmpfs);
}

TEST_CASE("enum tables: the mount methods") {
  check_round_trip(runtime::mount_methods, runtime::mount_method::directory);
  CHECK(std::string(to_string(runtime::mount_method::fuse)) == "fuse");
  CHECK(names_of(runtime::mount_methods) == "kernel, fuse, extract, directory");
}

TEST_CASE("enum tables: each compressor prints a name that parses back") {
  using builder::compressor;
  for (const compressor c : {compressor::zstd, compressor::xz, compressor::gzip, compressor::lz4}) {
    const builder::compression plain{c, std::nullopt};
    INFO(plain.to_string());
    CHECK(builder::parse_compression(plain.to_string()).kind == c);
  }
  CHECK(builder::parse_compression("zstd:15").to_string() == "zstd:15");
  CHECK(builder::parse_compression("xz").to_string() == "xz");
  CHECK(builder::compressor_id(compressor::lz4) == SQFS_COMP_LZ4);
  CHECK(builder::compressor_id(compressor::gzip) == SQFS_COMP_GZIP);
}
