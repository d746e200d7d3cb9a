// scriptqa/filter.h — compiled rule sets.
//
// A Filter is the compiled form of one or more rule dictionaries: the matching databases, the rule
// metadata and the normalisation tables. It is built once (from dictionaries, or from a serialized
// database in milliseconds), never changes afterwards, and is shared by every thread:
//
//   absl::StatusOr<std::shared_ptr<const scriptqa::Filter>> filter =
//       scriptqa::Filter::FromFiles({"dictionaries/ad_law.rules", "dictionaries/privacy.rules"});
//   if (!filter.ok()) { std::cerr << filter.status() << "\n"; return 1; }
//   // Each thread: scriptqa::Scanner scanner = *scriptqa::Scanner::Create(*filter);
//
// Thread safety: a Filter is logically immutable and all its const methods are thread-safe. Share
// it as std::shared_ptr<const Filter>; it lives as long as the last Scanner or Profile using it.
//
// Errors: factories return absl::Status. Dictionary problems are all reported in one status, one
// line each, as "file:line: rule ID: message". No scriptqa function throws, logs or exits.
#ifndef SCRIPTQA_FILTER_H_
#define SCRIPTQA_FILTER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "scriptqa/types.h"

namespace scriptqa {

// How messages and patterns are normalised before matching. Part of the compiled filter (patterns
// are normalised with the same settings), so it is fixed per Filter.
//
// | option                    | default | effect                                                |
// |---------------------------|---------|-------------------------------------------------------|
// | fold_width                | true    | NFKC per character: full width → half width, ① → 1    |
// | fold_case                 | true    | case folding (A → a); accented and tone-marked Latin  |
// |                           |         | letters to the plain letter (ì → i, pinyin tones)     |
// | traditional_to_simplified | true    | 絕對 → 绝对, 後 → 后 (著, 乾, 瞭, 藉 stay: see docs)   |
// | skip_noise                | true    | white space, punctuation, symbols, emoji are skipped  |
// | significant               | "%@"    | characters never skipped as noise                     |
// | extra_noise               | ""      | characters skipped in addition to the built-in set    |
// | collapse_repeats          | false   | a run of one character counts as one (加加微微信)       |
// Zero-width and format characters (U+200B–U+200F, U+2060, U+FEFF, …) are always removed.
struct NormalizationOptions {
  bool fold_width = true;
  bool fold_case = true;
  bool traditional_to_simplified = true;
  bool skip_noise = true;
  std::string significant = "%@";
  std::string extra_noise;
  bool collapse_repeats = false;
};

// Overrides the severity of a whole category or of one rule, at build time. A rule override wins
// over a category override.
struct SeverityOverride {
  std::string target;  // a category id ("ad_law") or a rule id ("ad_law.best")
  Severity severity = Severity::kReview;
};

// Bounds on what dictionaries may ask the engine to compile, so that a dictionary edited by hand
// (a shop's own deny list, a reload pushed by an operator) cannot hold a compile or a reload for
// minutes or exhaust memory. They are checked before anything is compiled, by FromDictionaries
// and Validate alike, over the enabled rules; a dictionary past a bound gets InvalidArgument
// naming the rule (file:line) and the option to raise. 0 means "no bound".
//
// Why these: compile time grows faster than linearly with the size of one regex (here a 1 KiB
// alternation of words takes ~0.2 s of CPU, a 4 KiB one ~3.6 s) and linearly with the number of
// regexes (1,000 small ones ~5 s), so a bound on bytes per regex, on the regex count and on their
// total bounds the time; 100,000 literals take ~5 s and 350 MB. Within the defaults the slowest
// dictionaries measured (docs/reliability.md, "Large and pathological dictionaries") compile in
// about 4 s of one core. Raising a bound is safe for dictionaries you trust.
struct CompileLimits {
  size_t max_regex_bytes = 1024;           // source bytes of one regex
  size_t max_regexes = 1000;               // regexes in the filter
  size_t max_total_regex_bytes = 32 << 10; // source bytes of all regexes together
  size_t max_literals = 200000;            // literal patterns in the filter (after normalisation)
  // For front ends: how their user raises a bound, appended ("; " + hint) to each error past one
  // with every "{name}" replaced by the bound's name above (the CLI: "raise it with --limit
  // {name}=N (0 lifts it)"). Empty: the error names the C++ option (FilterOptions::limits.NAME).
  std::string raise_hint;
};

// The bounds of CompileLimits by name, in declaration order, for code that takes or reports them
// by name (the CLI's --limit NAME=N, the Python package's limits={NAME: N}, cache keys):
//   for (const CompileLimitField& f : kCompileLimitFields)
//     std::cout << f.name << "=" << limits.*f.bound << "\n";
struct CompileLimitField {
  std::string_view name;  // the field's name, as errors past the bound print it
  size_t CompileLimits::*bound;
};
inline constexpr CompileLimitField kCompileLimitFields[] = {
    {"max_regex_bytes", &CompileLimits::max_regex_bytes},
    {"max_regexes", &CompileLimits::max_regexes},
    {"max_total_regex_bytes", &CompileLimits::max_total_regex_bytes},
    {"max_literals", &CompileLimits::max_literals},
};

// | option             | default | effect                                                          |
// |--------------------|---------|-----------------------------------------------------------------|
// | normalization      | see above | how text and patterns are normalised                          |
// | severity_overrides | none    | per category or rule, applied when the filter is built          |
// | disabled_rules     | none    | rule ids (or category ids) left out of the filter entirely      |
// | limits             | see above | compile-time bounds on the dictionaries (not stored in a      |
// |                    |         | serialized filter: loading one compiles nothing)                |
// | base_grammar       | true    | read the built-in base grammar first (speech acts, variants)    |
struct FilterOptions {
  NormalizationOptions normalization;
  std::vector<SeverityOverride> severity_overrides;
  std::vector<std::string> disabled_rules;
  CompileLimits limits;
  // Read the base grammar (dictionaries/base.grammar, compiled into the library: the speech acts,
  // variant tables and word classes the shipped packs use) before the dictionaries, so that any
  // dictionary can use them. false: only what the dictionaries define themselves.
  bool base_grammar = true;
};

// One dictionary to load: a file on disk or text in memory.
struct DictionarySource {
  enum class Kind : uint8_t {
    kAuto,      // decided by the file's %format line; without one, a term list
    kRules,     // must be "%format scriptqa-rules 1"
    kTermList,  // one term per line
  };
  std::string path;     // file to read, or a display name when `content` is set
  std::string content;  // when non-empty, used instead of reading `path`
  Kind kind = Kind::kAuto;
  // For term lists without a %category / %severity header.
  std::string category;
  Severity severity = Severity::kReview;

  static DictionarySource File(std::string path) {
    DictionarySource s;
    s.path = std::move(path);
    return s;
  }
  static DictionarySource Text(std::string name, std::string text) {
    DictionarySource s;
    s.path = std::move(name);
    s.content = std::move(text);
    return s;
  }
};

// What a filter is made of; for logs, caches and `scriptqa compile`.
struct FilterInfo {
  size_t rule_count = 0;
  size_t literal_count = 0;
  size_t regex_count = 0;
  uint64_t rules_hash = 0;       // hash of the rules, options and normalisation tables
  std::string engine_version;    // Hyperscan/Vectorscan version string
  size_t database_bytes = 0;     // size of the compiled matching databases
};

class FilterImpl;  // internal

class SCRIPTQA_API Filter {
 public:
  // Every factory below (FromDictionaries, FromFiles, Default, Deserialize, LoadFile) first checks,
  // once per process (about 0.5 ms), that the regex engine finds a known match wherever the text
  // lies in memory, and fails with FailedPrecondition naming the engine when it does not: Debian
  // 12's Vectorscan 5.4.9 misses matches on CPUs with AVX-512 (docs/design.md). Build against
  // Hyperscan there.
  //
  // Loads, validates and compiles dictionaries. Every problem of every file is reported; on error
  // no filter is returned.
  static absl::StatusOr<std::shared_ptr<const Filter>> FromDictionaries(
      absl::Span<const DictionarySource> sources, const FilterOptions& options = {});
  // Checks dictionaries without compiling them: what a dictionary editor's save hook or a CI lint
  // wants. The default packs take milliseconds (about 15 million instructions) where
  // FromDictionaries takes a second (2.3 billion); a small shop dictionary, microseconds.
  // Runs every check FromDictionaries runs before it compiles the matching databases — reading
  // and parsing every source (each problem as "file:line: rule ID: message"), categories,
  // duplicate rule ids, the targets of severity_overrides and disabled_rules, each regex's syntax,
  // empty matches and length bound — and returns exactly the status FromDictionaries returns for
  // those problems (OK when there are none). FromDictionaries shares this code, so the two cannot
  // disagree on them.
  // Not covered: problems only the engine's compiler finds, such as a literal over about 16,000
  // normalised bytes or a regex too large to compile ("engine rejected ..."). They are rare, and
  // only FromDictionaries reports them, so Validate's OK does not promise that it succeeds.
  // Thread-safe; reads the files named by sources without content and keeps nothing.
  static absl::Status Validate(absl::Span<const DictionarySource> sources,
                               const FilterOptions& options = {});
  // Convenience: rule files or term lists by path (kind from each file's %format line).
  static absl::StatusOr<std::shared_ptr<const Filter>> FromFiles(
      absl::Span<const std::string> paths, const FilterOptions& options = {});
  // The default packs shipped with scriptqa: every *.rules file in DefaultDictionaryDir().
  static absl::StatusOr<std::shared_ptr<const Filter>> Default(const FilterOptions& options = {});
  // Where the shipped packs are: $SCRIPTQA_DICTIONARIES if set, else the source tree's or the
  // installed dictionaries directory.
  static std::string DefaultDictionaryDir();

  // Serialized form: a versioned, checksummed blob holding the rules, the options and the compiled
  // databases. Loading it takes milliseconds. It is tied to the engine version and the CPU
  // platform; a blob made elsewhere gives FailedPrecondition (recompile from the dictionaries),
  // a damaged one DataLoss or InvalidArgument — never undefined behaviour.
  absl::StatusOr<std::string> Serialize() const;
  // Writes Serialize() to `path` atomically: into a new temporary file beside it (never an
  // existing name, so no link is followed), synced, then renamed over `path`. A `path` that is
  // not a regular file (a device, FIFO or directory) is refused with FailedPrecondition and left
  // alone; on any failure the temporary is removed and `path` is unchanged.
  absl::Status SaveFile(const std::string& path) const;
  static absl::StatusOr<std::shared_ptr<const Filter>> Deserialize(std::string_view bytes);
  static absl::StatusOr<std::shared_ptr<const Filter>> LoadFile(const std::string& path);

  // The rules, in load order; Rule::index is the position here.
  absl::Span<const Rule> rules() const;
  // nullptr when there is no such rule.
  const Rule* FindRule(std::string_view id) const;
  // The category ids in use (built-in ones first, in a fixed order, then declared ones).
  const std::vector<std::string>& categories() const;
  const FilterInfo& info() const;
  const NormalizationOptions& normalization() const;

  // Normalises a message as the matcher sees it (for tools and explanations).
  std::string Normalize(std::string_view text) const;

  ~Filter();
  Filter(const Filter&) = delete;
  Filter& operator=(const Filter&) = delete;

  const FilterImpl& impl() const { return *impl_; }  // internal

 private:
  explicit Filter(std::unique_ptr<FilterImpl> impl);
  friend class FilterImpl;
  std::unique_ptr<FilterImpl> impl_;
};

// Built-in category ids, in their fixed order.
SCRIPTQA_API const std::vector<std::string>& BuiltinCategories();

// The library's version ("0.1.0", as scriptqa.pc and the CMake package say) and the matching
// engine's (Hyperscan or Vectorscan, from its hs_version(): "5.4.0 2023-01-01"). Serialized
// filters are tied to the engine version (Filter::Deserialize).
SCRIPTQA_API std::string_view Version();
SCRIPTQA_API std::string_view EngineVersion();

}  // namespace scriptqa

#endif  // SCRIPTQA_FILTER_H_
