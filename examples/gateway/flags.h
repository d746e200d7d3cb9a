// Command-line flags of the gateway and its load generator, parsed by CLI11 (Debian's
// libcli11-dev, as the scriptqa tool does): --help for free, a missing value or an unknown flag is
// a usage error, and a number that is not one or out of range ("80x", "nan", 70000 for --port) is
// a usage error naming the flag (exit 2).
#ifndef SCRIPTQA_EXAMPLES_GATEWAY_FLAGS_H_
#define SCRIPTQA_EXAMPLES_GATEWAY_FLAGS_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"

namespace gateway {

// --flag N with N a number of type T in [lo, hi] (NaN is refused: it is in no range).
template <typename T>
CLI::Option* AddNumber(CLI::App& app, const std::string& flag, T* value, T lo, T hi,
                       const std::string& help) {
  const std::string range = absl::StrCat("[", lo, ", ", hi, "]");
  return app.add_option(flag, *value, help)
      ->check(CLI::Validator(
          [lo, hi, range](std::string& text) -> std::string {
            T v{};
            if (!CLI::detail::lexical_cast(text, v) || !(v >= lo && v <= hi))
              return absl::StrCat("'", text, "' is not a number in ", range);
            return std::string();
          },
          range, "range"))
      ->capture_default_str();
}

// `text` as a T within [lo, hi], or exit(2) with "FLAG: 'TEXT' is not a number in [LO, HI]": for
// values inside one flag's argument (bench/compare's comma-separated lists).
template <typename T>
T FlagNumber(const std::string& flag, const std::string& text, T lo, T hi) {
  T v{};
  if (!CLI::detail::lexical_cast(text, v) || !(v >= lo && v <= hi)) {  // !(…) also refuses NaN
    std::fprintf(stderr, "%s: '%s' is not a number in [%s, %s]\n", flag.c_str(), text.c_str(),
                 absl::StrCat(lo).c_str(), absl::StrCat(hi).c_str());
    std::exit(2);
  }
  return v;
}

// Parses argv; returns -1 to go on, else the exit code (0 after --help, 2 on a usage error).
inline int Parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return -1;
}

}  // namespace gateway

#endif  // SCRIPTQA_EXAMPLES_GATEWAY_FLAGS_H_
