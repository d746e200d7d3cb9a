// Numeric command-line values for the gateway and its load generator: a value that is not a
// number, or out of range, is a usage error naming the flag (exit 2), not an uncaught std::stoi
// exception or a silently truncated "80x" -> 80.
#ifndef SCRIPTQA_EXAMPLES_GATEWAY_FLAGS_H_
#define SCRIPTQA_EXAMPLES_GATEWAY_FLAGS_H_

#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace gateway {

// `text` as a T within [lo, hi], or exit(2) with "FLAG: 'TEXT' is not a number in [LO, HI]".
template <typename T>
T FlagNumber(const std::string& flag, const std::string& text, T lo, T hi) {
  T v{};
  bool ok;
  if constexpr (std::is_floating_point_v<T>) {
    ok = absl::SimpleAtod(text, &v);
  } else {
    ok = absl::SimpleAtoi(text, &v);
  }
  if (!ok || !(v >= lo && v <= hi)) {  // !(…) also refuses NaN
    std::fprintf(stderr, "%s: '%s' is not a number in [%s, %s]\n", flag.c_str(), text.c_str(),
                 absl::StrCat(lo).c_str(), absl::StrCat(hi).c_str());
    std::exit(2);
  }
  return v;
}

}  // namespace gateway

#endif  // SCRIPTQA_EXAMPLES_GATEWAY_FLAGS_H_
