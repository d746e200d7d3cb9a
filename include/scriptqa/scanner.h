// scriptqa/scanner.h — checking messages.
//
//   auto filter = scriptqa::Filter::Default();            // once per process (or LoadFile)
//   auto scanner = scriptqa::Scanner::Create(*filter);    // once per thread
//   auto findings = scanner->Scan("亲，这款是全网最低价，加我薇信发你优惠券");
//   for (const scriptqa::Finding& f : *findings)
//     std::cout << f.rule_id() << " [" << f.bytes.begin << "," << f.bytes.end << ") "
//               << f.text << " -> " << f.Suggestion() << "\n";
//
// A Scanner owns the engine's scratch space and reusable buffers, so the callback form of Scan()
// does not allocate once the buffers have grown to the size of the messages seen.
//
// Thread safety: one Scanner per thread. A Scanner is not thread-safe, but misuse is detected, not
// undefined: a call made while another call on the same scanner is running (from another thread,
// or re-entrantly from inside a callback) returns FailedPrecondition. Scanners of one Filter are
// independent; create as many as you have threads (creating one costs one scratch allocation).
//
// Offsets: see scriptqa/types.h — byte spans are half-open into the original message; character
// spans count code points (each maximal invalid UTF-8 subsequence counts as one).
//
// Matching semantics (docs/matching.md has the full story):
//   1. The message is normalised (filter.h) with a map back to the original bytes.
//   2. The engine finds every raw hit of every literal and regex.
//   3. Each hit is confirmed: boundary check, allow-contexts, negation cues, required context,
//      validators. A hit that fails is suppressed (Explain() says why).
//   4. Profile filters (disabled rules/categories, severity overrides, shop allow-list) and
//      `min_severity` apply.
//   5. Overlaps: by default, within one category the leftmost-longest hit wins and hits that
//      overlap it are dropped; hits of different categories may overlap. Overlap::kAll keeps all.
//   6. Findings are reported in order of (byte begin, longer first, rule index).
#ifndef SCRIPTQA_SCANNER_H_
#define SCRIPTQA_SCANNER_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "scriptqa/filter.h"
#include "scriptqa/types.h"

namespace scriptqa {

class Profile;

enum class Overlap : uint8_t {
  kLongestPerCategory,  // default: leftmost-longest per category
  kAll,                 // every confirmed hit, overlapping or not
};

enum class InvalidUtf8 : uint8_t {
  kRepair,  // default: each maximal invalid subsequence reads as U+FFFD; offsets stay original
  kReject,  // the call returns InvalidArgument naming the byte offset
};

// | option       | default             | effect                                                  |
// |--------------|---------------------|---------------------------------------------------------|
// | min_severity | kAdvice             | findings below it are not reported                      |
// | overlap      | kLongestPerCategory | see above                                               |
// | invalid_utf8 | kRepair             | see InvalidUtf8                                         |
// | profile      | nullptr             | per-shop configuration; must come from the same Filter  |
struct ScanOptions {
  Severity min_severity = Severity::kAdvice;
  Overlap overlap = Overlap::kLongestPerCategory;
  InvalidUtf8 invalid_utf8 = InvalidUtf8::kRepair;
  const Profile* profile = nullptr;
};

enum class ScanControl : uint8_t { kContinue, kStop };

// Why a raw hit did or did not become a finding.
enum class Decision : uint8_t {
  kReported,          // became a finding
  kBoundary,          // an ASCII letter/digit touches the hit (e.g. "wx" inside "wxyz")
  kAllowContext,      // inside an allow-context (e.g. 第一 inside 第一时间), or an unless term
  kNegated,           // a negation cue precedes it (e.g. 不能加…微信)
  kMissingContext,    // the rule's required context (near, with) is absent
  kValidatorFailed,   // e.g. Luhn check failed: an order number, not a card
  kDisabled,          // switched off by the profile
  kProfileAllowed,    // inside a term of the profile's allow-list
  kBelowThreshold,    // severity below ScanOptions::min_severity
  kOverlapped,        // lost against a longer/earlier hit of the same category
  kSpeechAct,         // said inside a speech act that does not make the claim: negated,
                      // a warning, reported or quoted speech, meta-talk, a question back
};
SCRIPTQA_API std::string_view DecisionName(Decision decision);

// One raw hit and what became of it.
struct Trace {
  const Rule* rule = nullptr;
  Span normalized;  // byte span in Explanation::normalized
  Span bytes;       // byte span in the original message
  Span chars;       // code-point span in the original message (scriptqa/types.h)
  Decision decision = Decision::kReported;
  std::string detail;  // e.g. the allow-context or cue that suppressed it
};

struct SCRIPTQA_API Explanation {
  std::string normalized;       // the text the engine saw
  std::vector<Trace> traces;    // every raw hit, in order of position
  std::vector<Finding> findings;
  // Human-readable, several lines.
  std::string ToString() const;
};

// The longest text Rewrite returns for a message of `message_bytes` bytes: 4x + 4 KiB. Enough
// for real suggestions (a 60-byte suggestion for each of 60 four-byte terms in a short message);
// what a suggestion that holds its own term could make of a 1-byte message costs at most about
// 2 ms, where the normaliser's 4x + 64 KiB took 60 ms (docs/reliability.md).
constexpr size_t MaxRewriteBytes(size_t message_bytes) {
  return 4 * message_bytes + (size_t{4} << 10);
}

struct Rewritten {
  std::string text;  // the message with suggestions applied
  // What was replaced in the original message, one entry per replacement (see Rewrite): the
  // most severe (then longest) finding of the group, its spans widened to all that was replaced.
  std::vector<Finding> replaced;
  bool clean = false;  // the result has no block or review finding
};

// Per-shop or per-channel configuration, prepared once and applied per scan at the cost of a few
// table look-ups per raw hit (nothing per byte). Immutable and thread-safe once created; it must
// be used with scanners of the filter it was created for.
struct ProfileOptions {
  std::vector<std::string> enabled_categories;  // empty: all categories
  std::vector<std::string> disabled;            // rule ids or category ids
  std::vector<SeverityOverride> severity_overrides;
  std::vector<std::string> allow_terms;  // a hit inside one of these (normalised) is suppressed
  // Extra literal terms reported as rule "<deny_category>.shop_deny" findings.
  std::vector<std::string> deny_terms;
  std::string deny_category = "shop";
  Severity deny_severity = Severity::kReview;
  std::string deny_reason = "店铺自定义禁用词";
};

// Profiles written as JSON: what `scriptqa --profile FILE` reads and what the chat gateway's
// --profiles file holds (one such object per shop). Every key is optional:
//   {"enabled_categories": ["off_platform", "privacy"],   only these categories (absent: all)
//    "disabled": ["script_quality", "ad_law.best"],        category or rule ids left out
//    "category_severity": {"review": "block"},             category id -> advice|review|block
//    "rule_severity": {"ad_law.best": "advice"},           rule id -> severity (wins over its
//                                                           category's)
//    "allow_terms": ["微信支付"],                            a hit inside one of these is dropped
//    "deny_terms": ["拼多多"],                               extra terms, reported as
//    "deny_category": "shop", "deny_severity": "review",   "<deny_category>.shop_deny"
//    "deny_reason": "本店禁止提及其他平台"}
// Severity overrides name their target's kind (a category is named like a severity: "review"),
// so a rule id (with a dot) in category_severity or a category id in rule_severity is an error.
// An unknown key, a value of the wrong type or a severity other than advice, review or block is
// InvalidArgument naming the key. Whether the ids exist is checked by Profile::Create.
SCRIPTQA_API absl::StatusOr<ProfileOptions> ProfileOptionsFromJson(std::string_view json);
// A file of named profiles, {"shop-a": {...}, "shop-b": {...}}, in file order.
SCRIPTQA_API absl::StatusOr<std::vector<std::pair<std::string, ProfileOptions>>> ProfilesFromJson(
    std::string_view json);
// One profile from a file that holds either a single profile or named profiles: `name` empty
// takes the single profile (a file of named profiles then is InvalidArgument listing the names);
// otherwise the named one (NotFound listing the names when there is no such profile).
SCRIPTQA_API absl::StatusOr<ProfileOptions> ProfileOptionsFromJson(std::string_view json,
                                                                  std::string_view name);

class ProfileImpl;

class SCRIPTQA_API Profile {
 public:
  static absl::StatusOr<std::shared_ptr<const Profile>> Create(
      std::shared_ptr<const Filter> filter, const ProfileOptions& options);
  ~Profile();
  const ProfileOptions& options() const;
  const ProfileImpl& impl() const { return *impl_; }  // internal

 private:
  explicit Profile(std::unique_ptr<ProfileImpl> impl);
  std::unique_ptr<ProfileImpl> impl_;
};

class ScannerImpl;

class SCRIPTQA_API Scanner {
 public:
  // Allocates the scratch space for `filter`. Fails only when the engine cannot allocate.
  static absl::StatusOr<Scanner> Create(std::shared_ptr<const Filter> filter);

  Scanner(Scanner&&) noexcept;
  Scanner& operator=(Scanner&&) noexcept;
  ~Scanner();

  // Calls `on_finding` for each finding, in order, until it returns kStop. The Finding passed to
  // the callback is valid only during the call. Does not allocate once the buffers are warm.
  absl::Status Scan(std::string_view text, const ScanOptions& options,
                    absl::FunctionRef<ScanControl(const Finding&)> on_finding);
  // All findings. They view `text`: keep it alive while you use them. `text` is marked
  // ABSL_ATTRIBUTE_LIFETIME_BOUND (clang's lifetimebound), as are Rewrite's and Explain's: the
  // result borrows it. (Clang 14 diagnoses a temporary only for results that are references or
  // views themselves, not through StatusOr<std::vector<Finding>>; keep the text alive yourself.)
  absl::StatusOr<std::vector<Finding>> Scan(std::string_view text ABSL_ATTRIBUTE_LIFETIME_BOUND,
                                            const ScanOptions& options = {});
  // Many messages in one call, for archives and batch jobs: the same findings as Scan() on each
  // message, at a fraction of the per-message cost (the messages are normalised into one buffer
  // and the engine runs once per 64 KiB of them, not once per message). Calls `on_message` once
  // per message, in input order, with the message's index, its status (what Scan() would have
  // returned: InvalidArgument for InvalidUtf8::kReject, ResourceExhausted for a message that
  // normalises to more than 4x + 64 KiB) and its findings, which view texts[index] and are valid
  // only during the call. The return value is not OK only when the whole call failed (a profile
  // of another filter, the scanner in use elsewhere, an engine error); messages not yet passed to
  // `on_message` then were not scanned. Does not allocate once the buffers are warm.
  absl::Status ScanBatch(
      absl::Span<const std::string_view> texts, const ScanOptions& options,
      absl::FunctionRef<void(size_t index, const absl::Status& status,
                             absl::Span<const Finding> findings)>
          on_message);
  // All findings of every message, one vector per message, in input order; fails with the first
  // failing message's status, prefixed by its index ("message 17: ...").
  absl::StatusOr<std::vector<std::vector<Finding>>> ScanBatch(
      absl::Span<const std::string_view> texts, const ScanOptions& options = {});
  // Whether any finding at or above `at_least` is present: the gate a chat server needs.
  absl::StatusOr<bool> HasFinding(std::string_view text, Severity at_least,
                                  const ScanOptions& options = {});
  // Replaces each finding by its first suggestion and re-scans. What is replaced is the whole
  // claim, so that no piece of it is left beside the suggestion:
  //   * overlapping confirmed hits, also those the overlap rule (ScanOptions::overlap) would not
  //     report, are replaced as one: their whole union by the suggestion of the most severe (then
  //     longest) of them ("全网最低价", not "全网最低" + "价");
  //   * a hit of a rule with companions (`with` in the dictionary) is replaced together with the
  //     companions that made it a finding and what stands between them: the nearest one of each
  //     group, within the rule's scope, and companions of the group that follow on within two
  //     characters ("好评返现5元哦" -> suggestion + "哦", not suggestion + "返现5元哦");
  //   * neighbouring replacements with the same suggestion (no placeholders) and only
  //     punctuation or spaces between them become one, so the suggestion is not repeated. What is still block/review is replaced again: twice more by
  // suggestions, then masked with '*' (one per character) until none is left; a mask is noise and
  // can join its neighbours into a new finding, so after 16 mask rounds every character is masked.
  // The text is never longer than MaxRewriteBytes(message): a suggestion round that would pass it
  // (a suggestion holding its own term, "2" -> "22…2", multiplies the text each round) masks
  // instead. Linear time and memory in the message for a given filter.
  // `clean` says whether the result is free of block and review findings (it always is unless
  // '*' is made significant and a rule matches it).
  absl::StatusOr<Rewritten> Rewrite(std::string_view text ABSL_ATTRIBUTE_LIFETIME_BOUND,
                                    const ScanOptions& options = {});
  // Every decision, for debugging rules and for QA disputes.
  absl::StatusOr<Explanation> Explain(std::string_view text ABSL_ATTRIBUTE_LIFETIME_BOUND,
                                      const ScanOptions& options = {});
  // `text` with personal data masked for output that leaves the process (scriptqa/mask.h): the
  // spans of this filter's `privacy` findings, looked for with default options (so a profile or
  // a threshold that hides the privacy category does not turn masking off), and every digit run
  // or e-mail that could be personal data. Same byte length and code-point count as `text`.
  absl::StatusOr<std::string> Mask(std::string_view text);

  const std::shared_ptr<const Filter>& filter() const;

 private:
  explicit Scanner(std::unique_ptr<ScannerImpl> impl);
  std::unique_ptr<ScannerImpl> impl_;
};

}  // namespace scriptqa

#endif  // SCRIPTQA_SCANNER_H_
