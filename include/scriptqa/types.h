// scriptqa/types.h — the value types every scriptqa API speaks in.
//
// Offsets convention (used everywhere in scriptqa):
//   * Byte offsets are 0-based and half-open, [begin, end), into the ORIGINAL message exactly as the
//     caller passed it (before normalisation, before UTF-8 repair).
//   * Character offsets are 0-based and half-open in Unicode code points of the original message.
//     When the message holds invalid UTF-8, each maximal invalid subsequence counts as one code
//     point, exactly as Python's `bytes.decode("utf-8", "replace")` counts it, so the character
//     offsets index the `str` a Python user sees.
//   * Spans always start and end on character boundaries of the original message.
//
// Ownership: a `Rule` is owned by the `Filter` it belongs to and lives as long as that filter. A
// `Finding` points to its rule and views the caller's message; it is valid while both live.
#ifndef SCRIPTQA_TYPES_H_
#define SCRIPTQA_TYPES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// The C++ API's exported symbols. A shared libscriptqa is built with hidden visibility and exports
// only the declarations marked SCRIPTQA_API (and the C API, scriptqa.h); nothing of the
// implementation (namespace scriptqa::internal) is visible to programs that link it.
#if defined(__GNUC__)
#define SCRIPTQA_API __attribute__((visibility("default")))
#else
#define SCRIPTQA_API
#endif

namespace scriptqa {

// How bad a finding is. Ordered: kAdvice < kReview < kBlock.
enum class Severity : uint8_t {
  kAdvice = 0,  // a script-quality hint
  kReview = 1,  // should be rephrased before it is sent
  kBlock = 2,   // must not be sent
};

// "advice", "review", "block".
SCRIPTQA_API std::string_view SeverityName(Severity severity);
// Parses "advice" / "review" / "block"; returns false for anything else.
SCRIPTQA_API bool ParseSeverity(std::string_view name, Severity* out);

// A half-open range [begin, end).
struct Span {
  size_t begin = 0;
  size_t end = 0;
  size_t size() const { return end - begin; }
  bool empty() const { return begin == end; }
  friend bool operator==(const Span& a, const Span& b) {
    return a.begin == b.begin && a.end == b.end;
  }
};

// How a rule checks the matched digits after the fast match.
enum class Validator : uint8_t {
  kNone = 0,
  kCnMobile,    // 11 digits starting 13–19, optional 86 / 0086 country prefix
  kCnId18,      // 18-character resident ID: birth date and GB 11643-1999 check digit
  kLuhn,        // 16–19 digits passing the Luhn check
  kCnLandline,  // 0 + area code + local number, 10–12 digits
};

// Which neighbouring normalised character makes a hit invalid.
enum class Boundary : uint8_t {
  kNone = 0,
  kAlpha,   // an ASCII letter right before or after the hit
  kDigit,   // an ASCII digit (after normalisation) right before or after the hit
  kAlnum,   // either
};

// The stretch of text around a hit in which a rule looks for its companions (`with`) and
// exemptions (`unless`), and a speech act for its cues (docs/dictionary-format.md). Clauses end at
// any punctuation mark (，、；：。！？… and line breaks), sentences at 。！？；… and line breaks.
// Whatever the scope, at most kMaxScopeChars characters on each side of the hit are looked at.
enum class Scope : uint8_t {
  kClause,
  kSentence,
  kMessage,
};
inline constexpr uint32_t kMaxScopeChars = 64;

// Where a companion (rule key with / with-before / with-after) must stand relative to the hit.
enum class Side : uint8_t { kEither, kBefore, kAfter };
struct Companions {
  Side side = Side::kEither;
  std::vector<std::string> terms;  // normalised; one of them must occur
};

// Context terms that must stand within `window` characters of the hit, in its clause.
struct WindowedTerms {
  uint32_t window = 8;
  std::vector<std::string> terms;  // normalised
  bool sentence = false;  // the window may reach across clause breaks, not sentence breaks
};

// One rule as loaded from a dictionary. Immutable; owned by its Filter.
struct Rule {
  std::string id;        // stable id, e.g. "ad_law.best"
  std::string category;  // e.g. "ad_law"
  Severity severity = Severity::kReview;  // after the filter's severity overrides
  std::string reason;    // why; quotable
  std::vector<std::string> literals;     // as written in the dictionary
  std::vector<std::string> regexes;      // as written in the dictionary
  std::vector<std::string> suggestions;  // templates; see docs/dictionary-format.md
  std::vector<std::string> allow;        // allow-contexts, normalised
  std::vector<std::string> allow_before;  // a hit right after one of these is suppressed
  std::vector<std::string> allow_after;   // a hit right before one of these is suppressed
  std::vector<std::string> negate;       // negation cues, normalised
  std::vector<std::string> near;         // required context, normalised
  uint32_t window = 8;                   // characters, for negate and near
  Validator validator = Validator::kNone;
  Boundary boundary = Boundary::kNone;
  // Context grammar (docs/dictionary-format.md, "Rules that need context"), within `scope`:
  std::vector<Companions> with;  // one term of each group must occur, on its side of the hit
  uint32_t within = 0;           // … within that many characters of the hit (0: the scope)
  std::vector<std::string> unless;             // a hit is suppressed when one of these occurs
  std::vector<WindowedTerms> unless_before;    // … ends within the window before it (clause,
                                               // or sentence when WindowedTerms::sentence)
  std::vector<WindowedTerms> unless_after;     // … starts within the window after it (likewise)
  // `reset-by`: an unless-before term counts only when none of these stands between it and the
  // hit (配送员的电话 is exempt, 师傅说打您电话 is not: 您 resets 师傅).
  std::vector<std::string> reset_by;
  Scope scope = Scope::kSentence;
  std::vector<std::string> speech_acts;  // names of the speech acts that suppress its hits
  // Masking characters (`unless-masked`, UTF-8, one per entry): a hit whose original text holds
  // one is a masked form already (li***@163.com), not the data itself.
  std::vector<std::string> unless_masked;
  std::vector<std::string> hit_examples;   // must give a finding of this rule
  std::vector<std::string> miss_examples;  // must not give a finding of this rule
  std::string file;  // where the rule was defined ("" for rules from a database without sources)
  uint32_t line = 0;
  uint32_t index = 0;  // position in Filter::rules()
};

// One problem found in a message.
struct SCRIPTQA_API Finding {
  const Rule* rule = nullptr;           // never null in a reported finding
  Severity severity = Severity::kReview;  // effective severity (rule, then profile overrides)
  Span bytes;                           // byte span in the original message
  Span chars;                           // code-point span in the original message
  std::string_view text;                // the original matched bytes (views the caller's message)

  std::string_view rule_id() const { return rule->id; }
  std::string_view category() const { return rule->category; }
  std::string_view reason() const { return rule->reason; }
  // The i-th suggestion with its template rendered for this match ("" when there is none).
  std::string Suggestion(size_t i = 0) const;
  // All suggestions, rendered.
  std::vector<std::string> Suggestions() const;
};

// Renders one suggestion template (`{match}`, `{masked}`, `{masked:K:L}`, `{{`, `}}`) for
// `matched`. Templates are validated when a dictionary loads, so this cannot fail.
SCRIPTQA_API std::string RenderSuggestion(std::string_view templ, std::string_view matched);

}  // namespace scriptqa

#endif  // SCRIPTQA_TYPES_H_
