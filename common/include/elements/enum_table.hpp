// One table per enum gives both its names and its values: parsing and
// printing read the same rows, so a name added to one is never missing from
// the other.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace elements {

template <typename E>
struct enum_name {
  E value;
  const char* name;
};

// The name of `e`; the first row's when the table lacks it (a value cast
// from outside the enum).
template <typename E, std::size_t N>
constexpr const char* name_of(const enum_name<E> (&table)[N], E e) {
  for (const auto& row : table)
    if (row.value == e) return row.name;
  return table[0].name;
}

template <typename E, std::size_t N>
constexpr std::optional<E> value_of(const enum_name<E> (&table)[N], std::string_view name) {
  for (const auto& row : table)
    if (name == row.name) return row.value;
  return std::nullopt;
}

// "a, b, c": the names, in the table's order, for messages.
template <typename E, std::size_t N>
std::string names_of(const enum_name<E> (&table)[N]) {
  std::string out;
  for (const auto& row : table) out += (out.empty() ? "" : ", ") + std::string(row.name);
  return out;
}

}  // namespace elements
