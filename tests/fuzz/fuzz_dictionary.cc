// Fuzz target: the dictionary parser and every check made before compiling (Filter::Validate) on
// arbitrary text. Nothing here compiles databases, so it runs thousands of inputs a second; the
// whole build (engine compiler, scanning, serialization) is the `compile` target's.
//   * never crashes, hangs or leaks; an error is InvalidArgument with one line per problem (an
//     empty source names a file: DictionarySource::content "" means "read path");
//   * when Validate fails, FromDictionaries fails with the identical status (it fails before
//     compiling, so this is cheap);
//   * when it passes: Validate is deterministic, and the same text given twice fails with a
//     duplicate rule id naming the first definition (a file that validates defines rules).
// Input: byte 0 selects the kind (auto / rules / term list) and options, the rest is the file.
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace scriptqa;
  using namespace scriptqa::fuzz;
  if (size > (1 << 14)) return 0;
  Input in(data, size);
  const uint8_t sel = in.Byte();
  FilterOptions o;
  const DictionarySource src = DictionaryInput(in, sel, &o);
  if (sel & 128) o.disabled_rules.push_back("deflection");  // a built-in category: always valid
  const absl::Status st = Filter::Validate({src}, o);
  if (!st.ok()) {
    FUZZ_CHECK(st.code() == absl::StatusCode::kInvalidArgument, "validate error code %d: %s",
               static_cast<int>(st.code()), std::string(st.message()).c_str());
    FUZZ_CHECK(!st.message().empty(), "error without a message");
    // An empty `content` means "read `path`" (filter.h): the error names the file.
    if (src.content.empty())
      FUZZ_CHECK(st.message().find("/nonexistent/fuzz.rules: cannot open") !=
                     absl::string_view::npos,
                 "empty source: %s", std::string(st.message()).c_str());
    absl::StatusOr<std::shared_ptr<const Filter>> f = Filter::FromDictionaries({src}, o);
    FUZZ_CHECK(!f.ok(), "Validate failed, FromDictionaries built a filter: %s",
               std::string(st.message()).c_str());
    FUZZ_CHECK(f.status() == st, "Validate: %s\nFromDictionaries: %s",
               std::string(st.message()).c_str(), std::string(f.status().message()).c_str());
    return 0;
  }
  const absl::Status again = Filter::Validate({src}, o);
  FUZZ_CHECK(again.ok(), "Validate passed, then failed: %s", std::string(again.message()).c_str());
  const absl::Status twice = Filter::Validate({src, src}, o);
  FUZZ_CHECK(twice.code() == absl::StatusCode::kInvalidArgument &&
                 twice.message().find("duplicate rule id (first defined at /nonexistent/fuzz.rules:") !=
                     absl::string_view::npos,
             "the same dictionary twice: %s", std::string(twice.message()).c_str());
  return 0;
}
