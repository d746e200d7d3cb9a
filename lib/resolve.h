// The confirmation and resolution stage shared by Scanner (block mode) and StreamScanner: what
// happens to raw engine hits once they are found (scanner.h, "Matching semantics", steps 3–6).
//
// Keeping this in one place is what makes the streaming promise hold: a StreamScanner resolves the
// raw hits of a whole message with exactly this code when the message ends, so its findings are
// those of Scanner::Scan by construction; before the end it evaluates the same checks on the
// normalised prefix with `complete = false`, which answers "pending" whenever a check still needs
// text that has not arrived.
#ifndef SCRIPTQA_LIB_RESOLVE_H_
#define SCRIPTQA_LIB_RESOLVE_H_

#include <hs.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "filter_impl.h"
#include "normalizer.h"
#include "profile_impl.h"
#include "scriptqa/scanner.h"
#include "term_index.h"

namespace scriptqa::internal {

inline constexpr uint32_t kNoStart = UINT32_MAX;
inline constexpr uint32_t kDenyRule = UINT32_MAX;  // rule index of a profile deny term

struct RawHit {
  uint32_t rule;     // index into the filter's rules, or kDenyRule
  uint32_t pattern;  // regex pattern id (for start-of-match), else unused
  uint32_t nb, ne;   // normalised byte span (nb == kNoStart until resolved for regexes)
  bool regex;
  uint8_t edges;     // per-side ASCII-letter checks of a literal (internal::kEdgeLeft/Right)
};

struct Candidate {
  const Rule* rule;
  uint32_t category;  // index for overlap grouping
  Severity severity;
  uint32_t nb, ne;
  uint32_t order;   // rule index, for a stable order
  uint32_t ob, oe;  // original byte span
  uint32_t trace;   // index of its Trace, when traces are kept
};

struct SomReport {
  uint32_t id, from, to;
};

// Text helpers on normalised (valid UTF-8) text.
uint32_t CpBefore(std::string_view s, size_t pos);
uint32_t CpAt(std::string_view s, size_t pos);
size_t BackChars(std::string_view s, size_t pos, uint32_t n);
// Walks n characters forward; *missing (if given) receives how many could not be walked because
// the text ended.
size_t ForwardChars(std::string_view s, size_t pos, uint32_t n, uint32_t* missing = nullptr);
// An occurrence of one of `terms` that covers [nb, ne).
const std::string* Covering(std::string_view s, const std::vector<std::string>& terms, size_t nb,
                            size_t ne);

// Whether clause break j of `map` (at 0 < map.clause_breaks[j] < norm.size()) ends the hit's
// `scope` (kClause or kSentence) as the confirmation checks read it: a lone decimal point ends
// nothing, and a sentence ends at 。！？；…, their ASCII forms or a line break. `original` is
// the whole message.
bool BreakEndsScope(std::string_view original, std::string_view norm, const OffsetMap& map,
                    size_t j, Scope scope);

// The bounds of a hit's clause or sentence in the normalised text, at most kMaxScopeChars
// characters on each side. hi_known is false while (complete == false) the end may still move.
struct ScopeBounds {
  size_t lo = 0, hi = 0;
  bool hi_known = true;
  bool question = false;  // the sentence (or clause) ends with a question mark
};

// What the checks of one whole message's hits share, so that each is worked out once: the
// occurrences of the term lists, and the scopes of the last hit span (hits of several rules on
// the same words come one after another). Reset by Resolve for each message; one per scanner.
struct CheckMemo {
  TermOccurrences terms;
  size_t nb = SIZE_MAX, ne = 0;  // the hit span `scopes` belong to
  bool have[3] = {false, false, false};  // clause, sentence, message
  ScopeBounds scopes[3];
  void Reset(std::string_view norm, size_t lists) {
    terms.Reset(norm, lists);
    nb = SIZE_MAX;
  }
  // Makes `scopes` those of the hit span [b, e): kept if it is the last span, else none known.
  void Span(size_t b, size_t e) {
    if (nb == b && ne == e) return;
    nb = b;
    ne = e;
    have[0] = have[1] = have[2] = false;
  }
};

// The outcome of the confirmation checks for one raw hit.
struct Confirmation {
  Decision decision = Decision::kReported;
  Severity severity = Severity::kReview;  // effective (rule, then profile override)
  // Only with complete == false: no check has failed yet, but one of them needs normalised text
  // past the end of `norm` (the character after the hit, the rest of an allow-context, the
  // required-context window). `decision` is kReported then.
  bool pending = false;
};

// Runs the confirmation checks (boundary, literal edges, allow-contexts, negation,
// unless-before/after, unless, companions, speech acts, required context, validator, profile,
// threshold) in their fixed order; the first failing check decides (Explain names it).
// `norm` is the normalised message, or with complete == false a prefix of it made of whole
// characters; `map` is that text's OffsetMap (clause breaks, and which neighbours were adjacent
// in the original). `detail`, when not
// null, receives the explanation of a suppression (as Explain() shows it). `memo`, when not null,
// was Reset for `norm` and keeps what the checks work out for the next hit of the same message
// (same answers, less work); only with complete == true.
// `original` is the message (with complete == false: the part received so far), for what the
// normalised text no longer shows: which punctuation ended a clause (a sentence end, a question
// mark) and quotation marks.
Confirmation Confirm(const FilterImpl& f, const ProfileImpl* profile, const ScanOptions& options,
                     std::string_view original, std::string_view norm, const OffsetMap& map,
                     const RawHit& h, bool complete, std::string* detail,
                     CheckMemo* memo = nullptr);

// Sets the start (nb) of every regex hit in *raw to the leftmost start of a match of its regex
// that ends where the hit ends (kNoStart when there is none): end - width for a fixed-width
// regex, else from the regex's own start-of-match database (regex_start_dbs) run on a window
// ending at its hits. `som` is a reusable buffer. The scratch must not be in use.
absl::Status ResolveRegexStarts(const FilterImpl& f, std::string_view norm, hs_scratch_t* scratch,
                                std::vector<RawHit>* raw, std::vector<SomReport>* som);

// Steps 3–6 on the raw hits of a whole message whose regex starts are resolved: sort and
// de-duplicate, confirm, apply overlaps, order by original span, drop a finding whose rule and
// original span repeat an earlier one (hits ending in different normalised bytes of one expanding
// character, such as "…t", "…te" and "…tel" of ℡ → "tel"), map spans to `text`. Appends to
// *findings (which view `text`); fills *traces (cleared first) when not null. `memo` (may be
// null) is Reset here and shared by the checks of the message's hits.
void Resolve(const FilterImpl& f, const ProfileImpl* profile, const ScanOptions& options,
             std::string_view text, std::string_view norm, const OffsetMap& map,
             std::vector<RawHit>* raw, std::vector<Candidate>* cands,
             std::vector<Finding>* findings, std::vector<Trace>* traces,
             CheckMemo* memo = nullptr);

}  // namespace scriptqa::internal

#endif  // SCRIPTQA_LIB_RESOLVE_H_
