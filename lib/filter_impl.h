// Internal state of a Filter, shared by the filter, scanner and profile implementations.
#ifndef SCRIPTQA_LIB_FILTER_IMPL_H_
#define SCRIPTQA_LIB_FILTER_IMPL_H_

#include <hs.h>

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "dense.h"
#include "grammar.h"
#include "normalizer.h"
#include "term_index.h"
#include "scriptqa/filter.h"

namespace scriptqa {

namespace internal {

struct HsDatabaseDeleter {
  void operator()(hs_database_t* db) const { hs_free_database(db); }
};
struct HsScratchDeleter {
  void operator()(hs_scratch_t* s) const { hs_free_scratch(s); }
};
using DatabasePtr = std::unique_ptr<hs_database_t, HsDatabaseDeleter>;
using ScratchPtr = std::unique_ptr<hs_scratch_t, HsScratchDeleter>;

// One compiled pattern. Literal ids and regex ids are separate spaces (one database each).
struct LiteralPattern {
  uint32_t rule = 0;
  uint32_t length = 0;  // normalised bytes: start = end - length
  // For rules without an explicit `boundary`: an ASCII letter may not touch the hit on the
  // left (bit 0) / right (bit 1), set where the literal itself begins / ends with a letter.
  uint8_t edges = 0;
};
inline constexpr uint8_t kEdgeLeft = 1, kEdgeRight = 2;
// The same for a literal that begins (ends) with an ASCII digit: 5星 is not read inside 15星.
inline constexpr uint8_t kEdgeLeftDigit = 4, kEdgeRightDigit = 8;
struct RegexPattern {
  uint32_t rule = 0;
  uint32_t max_width = 0;  // bytes; UINT32_MAX when unbounded
  uint32_t min_width = 0;  // bytes; == max_width: every match has this width (start = end - width)
};

// A set of literals compiled with the literal API (also used by profiles for shop deny terms and
// for the context terms); scan it with ScanLiterals(set.Db(), ...) (dense.h).
struct LiteralSet {
  std::vector<std::string> normalized;  // the literals, normalised UTF-8
  std::vector<LiteralPattern> patterns;
  // Gate literals (engine ids normalized.size() + k): required factors of gated regex groups
  // (FilterImpl::RegexGroup); a hit of gates[k] lets the groups of bit mask gate_groups[k] run.
  std::vector<std::string> gates;
  std::vector<uint32_t> gate_groups;
  bool dense = false;                   // compiled from the dense encoding (PreferDense)
  std::vector<uint32_t> dense_lengths;  // dense: per engine id, the encoded length
  SuffixGroups groups;                  // dense: literals compiled as their group's ending
  DatabasePtr db;
  LiteralDb Db() const { return {db.get(), dense, &dense_lengths, &groups}; }
  // The strings the engine is compiled from: normalized, then gates, dense-encoded when dense
  // (engine id = index). Also sets what scans derive from them: dense_lengths and groups (empty
  // unless dense).
  std::vector<std::string> EngineLiterals();
};

// Compiles the normalised literals and the gates (dense-encoded when `dense`) into a block-mode
// set->db; sets set->dense and dense_lengths. `where(i)` names literal i in errors.
absl::Status CompileLiterals(LiteralSet* set, const std::function<std::string(size_t)>& where,
                             bool dense);

std::string HsErrorName(hs_error_t err);

// The engine's message for a failed compile that returned `rc` (HsErrorName(rc) when the engine
// gave none), and frees `err` (null is fine). Read err->expression before calling it.
std::string TakeCompileError(hs_compile_error_t* err, hs_error_t rc);

// Whether the regex engine finds a known match wherever the text lies in memory: once per
// process (the first call scans; later calls return the stored result; thread-safe).
// FailedPrecondition when it does not, naming the engine: Debian 12's Vectorscan 5.4.9 misses
// matches in its AVX-512 runtime (docs/design.md). Every filter factory checks it first.
const absl::Status& EngineSelfTest();

// Platform of the running CPU, as a string stored in serialized databases.
std::string PlatformString();

}  // namespace internal

class FilterImpl {
 public:
  // FromDictionaries: Prepare, then Compile. Validate: Prepare alone, so that the two report
  // the same errors by construction.
  static absl::StatusOr<std::shared_ptr<const Filter>> Build(
      absl::Span<const DictionarySource> sources, const FilterOptions& options);
  static absl::Status Validate(absl::Span<const DictionarySource> sources,
                               const FilterOptions& options);

  // Where a pattern was defined, for the engine compiler's errors ("file:line: rule ID: ...").
  struct PatternSite {
    std::string file;
    uint32_t line = 0;
    std::string rule_id;
  };
  struct PatternSites {
    std::vector<PatternSite> literals;  // per literals.normalized entry
    std::vector<PatternSite> regexes;   // per regex_exprs entry
  };
  // Every check before the engine compiles: reads and parses the sources, then checks categories,
  // duplicate ids, option targets and each regex (hs_expression_info: syntax, empty match, width
  // bound). On success *impl holds the options, normaliser, categories, kept rules and the
  // normalised literals and regexes (no databases), and *sites names their rules.
  static absl::Status Prepare(absl::Span<const DictionarySource> sources,
                              const FilterOptions& options, FilterImpl* impl,
                              PatternSites* sites);
  // Compiles the prepared patterns into the databases, then Finish().
  absl::Status Compile(const PatternSites& sites);
  static absl::StatusOr<std::shared_ptr<const Filter>> Load(std::string_view bytes);

  absl::StatusOr<std::string> Serialize() const;

  // Finishes a filter whose rules, patterns and databases are set: index, hash, scratch.
  absl::Status Finish();

  FilterOptions options;
  std::unique_ptr<internal::Normalizer> normalizer;
  std::vector<Rule> rules;
  std::vector<std::string> categories;
  absl::flat_hash_map<std::string, uint32_t> rule_index;
  absl::flat_hash_map<std::string, uint32_t> category_index;
  std::vector<uint32_t> rule_category;  // rule index -> category index
  // The speech acts (grammar.h) and, per rule, the indices of those that suppress it.
  std::vector<internal::SpeechAct> speech_acts;
  std::vector<std::vector<uint32_t>> rule_acts;
  // First-character indexes of the lists the checks search (speech_acts' cues and pseudo-cues;
  // each rule's companions, exemptions, negation, required-context and reset terms and
  // allow-contexts), by list id; lists with the same terms share an index and an id.
  // term_list_ids maps a list's address to its id. Set by Finish(); the lists must not change
  // afterwards. A list whose index cannot serve it (an empty term) is left to the plain search.
  std::vector<internal::TermIndex> term_indexes;
  absl::flat_hash_map<const std::vector<std::string>*, uint32_t> term_list_ids;
  // The id of an indexed list (term_indexes), internal::kNoTermList otherwise.
  uint32_t ListId(const std::vector<std::string>& terms) const {
    auto it = term_list_ids.find(&terms);
    return it != term_list_ids.end() && term_indexes[it->second].Serves(terms) ? it->second
                                                                               : internal::kNoTermList;
  }

  internal::LiteralSet literals;
  std::vector<std::string> regex_exprs;  // as compiled
  std::vector<internal::RegexPattern> regexes;
  internal::DatabasePtr regex_db;      // no start of match: all regexes (stream windows)
  // The block scan's regex databases (every regex is in one): a group holds the regexes whose
  // matches must contain a character of `required` (regex_class.h), and is scanned only when the
  // normalised message has one (required == 0: no such condition). Same pattern ids as regex_db.
  struct RegexGroup {
    uint32_t required = 0;
    internal::DatabasePtr db;
    // Every regex of the group has required factors (RequiredFactors), which are gate literals
    // of `literals`: the group is scanned only when one of them was found.
    bool gated = false;
  };
  std::vector<RegexGroup> regex_groups;  // at most 8: one per set of required classes
  // Bit i for regex_groups[i]: the groups a text with character classes c may match
  // (groups_for_classes[c]), and the gated ones. Set by IndexRegexGroups.
  std::array<uint32_t, 8> groups_for_classes{};
  uint32_t gated_groups = 0;
  void IndexRegexGroups() {
    gated_groups = 0;
    for (uint32_t c = 0; c < 8; ++c) groups_for_classes[c] = 0;
    for (size_t gi = 0; gi < regex_groups.size() && gi < 32; ++gi) {
      const RegexGroup& g = regex_groups[gi];
      if (g.gated) gated_groups |= 1u << gi;
      for (uint32_t c = 0; c < 8; ++c)
        if (g.required == 0 || (c & g.required) != 0) groups_for_classes[c] |= 1u << gi;
    }
  }
  // Leftmost start of match, one database per regex (same index as `regexes`), null for a
  // fixed-width regex (min_width == max_width): run on a short window ending at a hit of that
  // regex (resolve.cc, ResolveRegexStarts).
  std::vector<internal::DatabasePtr> regex_start_dbs;
  // Streaming-mode twin of the regex database (same pattern ids), for StreamScanner when regexes
  // cannot be matched on windows of the text. (Literals need no twin: the stream scanner matches
  // them on block-mode windows.) Start offsets still come from regex_start_dbs.
  internal::DatabasePtr regex_stream_db;
  internal::ScratchPtr prototype;      // scratch sized for all databases; cloned per scanner
  // Scanner::ScanBatch joins normalised messages with this character, one the normaliser removes
  // (so no literal contains it); 0 when there is none, or a regex uses anchors: batches are then
  // scanned message by message. Set by Finish().
  char batch_separator = 0;

  FilterInfo info;
};

}  // namespace scriptqa

#endif  // SCRIPTQA_LIB_FILTER_IMPL_H_
