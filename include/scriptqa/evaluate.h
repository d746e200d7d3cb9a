// scriptqa/evaluate.h — measuring a filter on labelled messages.
//
// QA teams have labelled data: messages an analyst marked as violations (with the category and,
// optionally, where the violation is) and harmless messages that look like violations. Evaluate()
// scans each one and reports what a classification report does: recall, false-alarm rate,
// precision and category accuracy, overall, per category, per evasion and per rule, and lists
// every miss, wrong category and false alarm with the findings behind it. `scriptqa eval` and
// `scriptqa.evaluate()` print the same report.
//
//   auto cases = scriptqa::ParseLabelledJsonl(contents, "shop.jsonl");
//   auto report = scriptqa::Evaluate(*scanner, *cases);
//   std::cout << report->ToString(*cases);
//
// The labelled JSONL format, one object per line (docs/quality.md):
//   {"text": "亲，这款是全网最低价", "expect": "flag", "category": "ad_law", "span": [5, 9]}
//   {"text": "最快明天到", "expect": "pass", "category": "ad_law", "evasion": "none"}
// | key      | required | meaning                                                              |
// |----------|----------|----------------------------------------------------------------------|
// | text     | yes      | the agent message                                                    |
// | expect   | yes      | "flag" (a violation) or "pass" (harmless; a look-alike trap)        |
// | category | flags    | the violation's category; for a pass, the category it looks like     |
// | span     | no       | [begin, end) in code points of `text`: where the violation is        |
// | evasion  | no       | how it is disguised ("traditional", "homophone", "noise", …; "none") |
// | id       | no       | a name for the case (the line number when absent)                    |
// Other keys are ignored.
//
// Definitions. A message is *flagged* when it has a finding at or above EvalOptions::flag_at
// (review: advice-level hints are coaching, not violations). For the labelled violations:
// recall = flagged / violations; category accuracy = flagged with a finding of the labelled
// category / flagged; span accuracy = flagged with such a finding overlapping the labelled span /
// flagged with a span. For the harmless messages: false-alarm rate = flagged / harmless.
// Precision of a category = messages with a finding of that category that are violations of it /
// messages with a finding of that category (overall: flagged violations / flagged messages).
// Per rule, a message counts once however often the rule fires in it.
//
// Thread safety: Evaluate uses the scanner it is given (one thread). Ownership: the report holds
// indices into the cases it was computed from; pass the same cases to ToString/ToJson.
#ifndef SCRIPTQA_EVALUATE_H_
#define SCRIPTQA_EVALUATE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "scriptqa/scanner.h"
#include "scriptqa/types.h"

namespace scriptqa {

struct LabelledMessage {
  std::string id;        // "" when the input has none
  std::string text;
  bool flag = false;     // expect "flag"
  std::string category;  // the violation's category; for a pass, the one it resembles ("" if none)
  bool has_span = false;
  Span span;             // code points of `text` (flags only)
  std::string evasion;   // "" for none
  uint64_t line = 0;     // line in the input it was parsed from (0 when built in code)
};

// Parses the labelled JSONL format above. Blank lines are skipped. Every problem is reported
// (InvalidArgument, one "name:line: message" per line): bad JSON, a missing or wrong-typed key,
// an `expect` other than flag/pass, a flag without a category, a span outside the text.
SCRIPTQA_API absl::StatusOr<std::vector<LabelledMessage>> ParseLabelledJsonl(std::string_view content,
                                                                std::string_view name = "<input>");

struct EvalOptions {
  Severity flag_at = Severity::kReview;  // a message is flagged by findings at or above this
  ScanOptions scan;                      // options of every scan (profile, overlap, UTF-8)
};

struct EvalCounts {
  uint64_t flags = 0;           // labelled violations
  uint64_t caught = 0;          // … flagged
  uint64_t category_right = 0;  // … flagged with a finding of the labelled category
  uint64_t with_span = 0;       // violations with a labelled span that were flagged
  uint64_t span_right = 0;      // … with a finding of the labelled category overlapping the span
  uint64_t passes = 0;          // labelled harmless
  uint64_t false_alarms = 0;    // … flagged
  uint64_t predicted = 0;       // messages with a finding of this category (overall: flagged)
  uint64_t predicted_right = 0;  // … that are violations of it (overall: violations)

  double recall() const { return Ratio(caught, flags); }
  double false_alarm_rate() const { return Ratio(false_alarms, passes); }
  double precision() const { return Ratio(predicted_right, predicted); }
  double category_accuracy() const { return Ratio(category_right, caught); }
  double span_accuracy() const { return Ratio(span_right, with_span); }

 private:
  static double Ratio(uint64_t a, uint64_t b) { return b == 0 ? 0.0 : double(a) / double(b); }
};

// A finding as the report keeps it (it outlives the scans).
struct EvalFinding {
  std::string rule;
  std::string category;
  Severity severity = Severity::kReview;
  Span chars;           // code points of the message
  std::string matched;  // the original matched text
};

enum class EvalOutcome : uint8_t {
  kCaught,         // a violation, flagged with a finding of its category
  kWrongCategory,  // a violation, flagged, but with no finding of its category
  kMissed,         // a violation, not flagged
  kFalseAlarm,     // harmless, flagged
  kPassed,         // harmless, not flagged
};
SCRIPTQA_API std::string_view EvalOutcomeName(EvalOutcome outcome);

struct EvalCase {
  size_t index = 0;  // into the cases evaluated
  EvalOutcome outcome = EvalOutcome::kPassed;
  std::vector<EvalFinding> findings;  // every finding of the message (advice too)
};

struct RuleCounts {
  std::string rule;
  std::string category;
  uint64_t true_flags = 0;   // messages it flagged that are violations of its category
  uint64_t false_flags = 0;  // messages it flagged that are not
};

struct SCRIPTQA_API EvalReport {
  EvalCounts overall;
  std::vector<std::pair<std::string, EvalCounts>> by_category;  // labelled and predicted ones
  std::vector<std::pair<std::string, EvalCounts>> by_evasion;   // labelled evasions (not "none")
  EvalCounts evasions;  // every case with an evasion, together
  std::vector<RuleCounts> by_rule;  // rules that flagged something, most false flags first
  std::vector<EvalCase> problems;   // misses, wrong categories and false alarms, in input order
  Severity flag_at = Severity::kReview;

  // A classification report: tables, then up to `max_listed` problems of each kind with their
  // findings (0: all).
  std::string ToString(absl::Span<const LabelledMessage> cases, size_t max_listed = 30) const;
  // The same as JSON (every problem listed).
  std::string ToJson(absl::Span<const LabelledMessage> cases) const;
};

// Scans every case and computes the report. Fails only when a scan fails as a whole (a profile of
// another filter, the scanner busy elsewhere); a message the library refuses (too large) counts
// as not flagged.
SCRIPTQA_API absl::StatusOr<EvalReport> Evaluate(Scanner& scanner, absl::Span<const LabelledMessage> cases,
                                    const EvalOptions& options = {});

}  // namespace scriptqa

#endif  // SCRIPTQA_EVALUATE_H_
