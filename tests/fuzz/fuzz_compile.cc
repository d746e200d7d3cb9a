// Fuzz target: the whole dictionary build (Filter::FromDictionaries: parser, checks and the
// engine compiler) on arbitrary text, and what a built filter does. Slow (every input that passes
// the checks compiles databases: about 150 inputs a second); the parser and checks alone are
// fuzzed thousands of times faster by the `dictionary` target.
//   * never crashes, hangs or leaks; an error is InvalidArgument with one line per problem (an
//     empty source names a file: DictionarySource::content "" means "read path");
//   * Filter::Validate agrees: a filter that builds validates; a build that fails either fails
//     validation with the identical status or was refused by the engine compiler ("engine
//     rejected", the errors only FromDictionaries finds: filter.h);
//   * a filter that loads has complete rules, scans its own hit/miss examples and the dictionary
//     text itself with valid spans, rewrites them within MaxRewriteBytes (whatever its suggestions
//     hold: regressions/compile/rewrite_suggestion_holds_its_term), and survives
//     Serialize -> Deserialize -> Serialize unchanged.
// Input: byte 0 selects the kind (auto / rules / term list) and options, the rest is the file
// (the same format as the `dictionary` target, whose seeds corpus/compile/ copies).
#include <algorithm>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace scriptqa;
  using namespace scriptqa::fuzz;
  if (size > (1 << 14)) return 0;
  Input in(data, size);
  const uint8_t sel = in.Byte();
  FilterOptions o;
  const DictionarySource src = DictionaryInput(in, sel, &o);
  absl::StatusOr<std::shared_ptr<const Filter>> f = Filter::FromDictionaries({src}, o);
  const absl::Status validated = Filter::Validate({src}, o);
  if (f.ok()) {
    FUZZ_CHECK(validated.ok(), "a filter built, but Validate says: %s",
               std::string(validated.message()).c_str());
  } else if (validated.ok()) {
    FUZZ_CHECK(f.status().message().find("engine rejected") != absl::string_view::npos,
               "Validate passed, FromDictionaries failed without an engine error: %s",
               std::string(f.status().message()).c_str());
  } else {
    FUZZ_CHECK(validated == f.status(), "Validate: %s\nFromDictionaries: %s",
               std::string(validated.message()).c_str(),
               std::string(f.status().message()).c_str());
  }
  if (!f.ok()) {
    const absl::StatusCode code = f.status().code();
    FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument, "load error code %d: %s",
               static_cast<int>(code), std::string(f.status().message()).c_str());
    // An empty `content` means "read `path`" (filter.h): the error names the file.
    if (src.content.empty())
      FUZZ_CHECK(f.status().message().find("/nonexistent/fuzz.rules: cannot open") !=
                     absl::string_view::npos,
                 "empty source: %s", std::string(f.status().message()).c_str());
    FUZZ_CHECK(!f.status().message().empty(), "error without a message");
    return 0;
  }
  const Filter& filter = **f;
  FUZZ_CHECK(!filter.rules().empty(), "a filter without rules loaded");
  for (const Rule& r : filter.rules()) {
    FUZZ_CHECK(!r.id.empty() && r.id.size() <= 64, "rule id '%s'", r.id.c_str());
    FUZZ_CHECK(!r.literals.empty() || !r.regexes.empty(), "rule %s has no pattern", r.id.c_str());
    FUZZ_CHECK(&r == filter.FindRule(r.id), "FindRule(%s) is not the rule", r.id.c_str());
    FUZZ_CHECK(std::find(filter.categories().begin(), filter.categories().end(), r.category) !=
                   filter.categories().end(),
               "rule %s has undeclared category %s", r.id.c_str(), r.category.c_str());
    for (const std::string& s : r.suggestions) (void)RenderSuggestion(s, "13812345678");
  }

  absl::StatusOr<Scanner> scanner = Scanner::Create(*f);
  FUZZ_CHECK(scanner.ok(), "Scanner::Create: %s", std::string(scanner.status().message()).c_str());
  std::vector<std::string> messages = {src.content, "加微信13812345678，最佳选择"};
  for (const Rule& r : filter.rules()) {
    messages.insert(messages.end(), r.hit_examples.begin(), r.hit_examples.end());
    messages.insert(messages.end(), r.miss_examples.begin(), r.miss_examples.end());
    if (messages.size() > 64) break;
  }
  for (const std::string& m : messages) {
    absl::StatusOr<std::vector<Finding>> fs = scanner->Scan(m);
    FUZZ_CHECK(fs.ok(), "Scan: %s", std::string(fs.status().message()).c_str());
    const std::vector<int64_t> chars = CharIndex(m);
    for (const Finding& fd : *fs) {
      CheckFinding(fd, m, chars, "dictionary");
      (void)fd.Suggestions();
    }
    absl::StatusOr<Rewritten> rw = scanner->Rewrite(m);
    FUZZ_CHECK(rw.ok(), "Rewrite: %s", std::string(rw.status().message()).c_str());
    CheckRewriteSize(*rw, m);
  }

  absl::StatusOr<std::string> blob = filter.Serialize();
  FUZZ_CHECK(blob.ok(), "Serialize: %s", std::string(blob.status().message()).c_str());
  absl::StatusOr<std::shared_ptr<const Filter>> back = Filter::Deserialize(*blob);
  FUZZ_CHECK(back.ok(), "Deserialize of a fresh blob: %s",
             std::string(back.status().message()).c_str());
  FUZZ_CHECK((*back)->info().rules_hash == filter.info().rules_hash, "rules hash changed");
  absl::StatusOr<std::string> again = (*back)->Serialize();
  FUZZ_CHECK(again.ok() && *again == *blob, "Serialize(Deserialize(x)) != x");
  return 0;
}
