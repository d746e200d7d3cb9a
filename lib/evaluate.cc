#include "scriptqa/evaluate.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "utf8.h"

namespace scriptqa {
namespace {

using json = nlohmann::ordered_json;

// Debian's Abseil has its own string_view type.
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// A string key's value, or "" (with *error set when it is there but not a string).
std::string StringKey(const json& obj, const char* key, std::string* error) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return "";
  if (!it->is_string()) {
    *error = absl::StrCat("\"", key, "\" is not a string");
    return "";
  }
  return it->get<std::string>();
}

std::string Percent(double v) { return absl::StrFormat("%5.1f%%", 100.0 * v); }

void Add(EvalCounts* to, const EvalCounts& c) {
  to->flags += c.flags;
  to->caught += c.caught;
  to->category_right += c.category_right;
  to->with_span += c.with_span;
  to->span_right += c.span_right;
  to->passes += c.passes;
  to->false_alarms += c.false_alarms;
  to->predicted += c.predicted;
  to->predicted_right += c.predicted_right;
}

json CountsJson(const EvalCounts& c) {
  return json{{"violations", c.flags},
              {"caught", c.caught},
              {"recall", c.recall()},
              {"category_right", c.category_right},
              {"category_accuracy", c.category_accuracy()},
              {"with_span", c.with_span},
              {"span_right", c.span_right},
              {"span_accuracy", c.span_accuracy()},
              {"harmless", c.passes},
              {"false_alarms", c.false_alarms},
              {"false_alarm_rate", c.false_alarm_rate()},
              {"flagged", c.predicted},
              {"flagged_right", c.predicted_right},
              {"precision", c.precision()}};
}

std::string Row(std::string_view name, const EvalCounts& c) {
  auto pct = [](uint64_t a, uint64_t b) {
    return b == 0 ? std::string("     -") : Percent(double(a) / double(b));
  };
  return absl::StrFormat("  %-16s %s %s %s %s %9d %8d\n", std::string(name), pct(c.caught, c.flags),
                         pct(c.category_right, c.caught), pct(c.false_alarms, c.passes),
                         pct(c.predicted_right, c.predicted), c.flags, c.passes);
}

std::string Header(std::string_view first) {
  return absl::StrFormat("  %-16s %6s %6s %6s %6s %9s %8s\n", std::string(first), "recall",
                         "categ", "FA", "prec", "violation", "harmless");
}

std::string FindingsText(const std::vector<EvalFinding>& fs) {
  if (fs.empty()) return "no finding";
  std::vector<std::string> parts;
  for (const EvalFinding& f : fs)
    parts.push_back(absl::StrCat(f.rule, " ", AV(SeverityName(f.severity)), " [", f.chars.begin, ",",
                                 f.chars.end, ") \"", f.matched, "\""));
  return absl::StrJoin(parts, "; ");
}

}  // namespace

std::string_view EvalOutcomeName(EvalOutcome outcome) {
  switch (outcome) {
    case EvalOutcome::kCaught: return "caught";
    case EvalOutcome::kWrongCategory: return "wrong_category";
    case EvalOutcome::kMissed: return "missed";
    case EvalOutcome::kFalseAlarm: return "false_alarm";
    case EvalOutcome::kPassed: return "passed";
  }
  return "?";
}

absl::StatusOr<std::vector<LabelledMessage>> ParseLabelledJsonl(std::string_view content,
                                                                std::string_view name) {
  std::vector<LabelledMessage> out;
  std::vector<std::string> errors;
  uint64_t line_no = 0;
  size_t pos = 0;
  while (pos < content.size()) {
    size_t nl = content.find('\n', pos);
    std::string_view line =
        content.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? content.size() : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    auto fail = [&](std::string_view msg) {
      errors.push_back(absl::StrCat(AV(name), ":", line_no, ": ", AV(msg)));
    };
    json obj = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
    if (obj.is_discarded()) {
      fail("not valid JSON");
      continue;
    }
    if (!obj.is_object()) {
      fail("not a JSON object");
      continue;
    }
    LabelledMessage m;
    m.line = line_no;
    std::string error;
    auto text = obj.find("text");
    if (text == obj.end() || !text->is_string()) {
      fail("\"text\" is missing or not a string");
      continue;
    }
    m.text = text->get<std::string>();
    std::string expect = StringKey(obj, "expect", &error);
    m.category = StringKey(obj, "category", &error);
    m.evasion = StringKey(obj, "evasion", &error);
    if (m.evasion == "none") m.evasion.clear();
    if (auto id = obj.find("id"); id != obj.end() && !id->is_null()) {
      if (id->is_string()) {
        m.id = id->get<std::string>();
      } else if (id->is_number_integer()) {
        m.id = std::to_string(id->get<int64_t>());
      } else {
        error = "\"id\" is not a string or an integer";
      }
    }
    if (!error.empty()) {
      fail(error);
      continue;
    }
    if (expect == "flag") {
      m.flag = true;
    } else if (expect != "pass") {
      fail(absl::StrCat("\"expect\" must be \"flag\" or \"pass\", got \"", expect, "\""));
      continue;
    }
    if (m.flag && m.category.empty()) {
      fail("a violation (\"expect\": \"flag\") needs its \"category\"");
      continue;
    }
    if (auto span = obj.find("span"); span != obj.end() && !span->is_null()) {
      const size_t chars = internal::CountChars(m.text);
      if (!span->is_array() || span->size() != 2 || !(*span)[0].is_number_unsigned() ||
          !(*span)[1].is_number_unsigned()) {
        fail("\"span\" must be [begin, end], code points of the text");
        continue;
      }
      m.span = {(*span)[0].get<size_t>(), (*span)[1].get<size_t>()};
      if (m.span.begin >= m.span.end || m.span.end > chars) {
        fail(absl::StrCat("\"span\" [", m.span.begin, ", ", m.span.end,
                          ") is empty or outside the text (", chars, " code points)"));
        continue;
      }
      m.has_span = true;
    }
    out.push_back(std::move(m));
  }
  if (!errors.empty()) {
    constexpr size_t kShown = 20;
    std::string msg = absl::StrJoin(errors.begin(), errors.begin() + std::min(errors.size(), kShown), "\n");
    if (errors.size() > kShown) absl::StrAppend(&msg, "\n… and ", errors.size() - kShown, " more");
    return absl::InvalidArgumentError(msg);
  }
  return out;
}

absl::StatusOr<EvalReport> Evaluate(Scanner& scanner, absl::Span<const LabelledMessage> cases,
                                    const EvalOptions& options) {
  EvalReport report;
  report.flag_at = options.flag_at;
  std::map<std::string, EvalCounts> by_category, by_evasion;
  std::map<std::string, RuleCounts> by_rule;
  std::vector<Finding> found;
  for (size_t i = 0; i < cases.size(); ++i) {
    const LabelledMessage& m = cases[i];
    found.clear();
    absl::Status st = scanner.Scan(m.text, options.scan, [&](const Finding& f) {
      found.push_back(f);
      return ScanControl::kContinue;
    });
    if (!st.ok()) {
      // A message the library refuses on its own is not flagged; a failure of the call as a
      // whole (busy scanner, foreign profile) ends the evaluation.
      if (st.code() == absl::StatusCode::kFailedPrecondition) return st;
      found.clear();
    }
    EvalCase c;
    c.index = i;
    std::set<std::string> categories, rules;
    bool flagged = false, right = false, span_right = false;
    for (const Finding& f : found) {
      c.findings.push_back({f.rule->id, f.rule->category, f.severity, f.chars, std::string(f.text)});
      if (f.severity < options.flag_at) continue;
      flagged = true;
      categories.insert(f.rule->category);
      rules.insert(f.rule->id);
      if (m.flag && f.rule->category == m.category) {
        right = true;
        if (m.has_span && f.chars.begin < m.span.end && m.span.begin < f.chars.end) span_right = true;
      }
    }
    EvalCounts one;
    if (m.flag) {
      one.flags = 1;
      one.caught = flagged;
      one.category_right = right;
      one.with_span = flagged && m.has_span;
      one.span_right = span_right;
      c.outcome = !flagged ? EvalOutcome::kMissed
                           : right ? EvalOutcome::kCaught : EvalOutcome::kWrongCategory;
    } else {
      one.passes = 1;
      one.false_alarms = flagged;
      c.outcome = flagged ? EvalOutcome::kFalseAlarm : EvalOutcome::kPassed;
    }
    // Overall: flagged messages and the violations among them.
    EvalCounts overall = one;
    overall.predicted = flagged;
    overall.predicted_right = flagged && m.flag;
    Add(&report.overall, overall);
    // Per category: the labelled category's recall and false alarms; every predicted category's
    // precision.
    if (!m.category.empty()) Add(&by_category[m.category], one);
    for (const std::string& cat : categories) {
      EvalCounts& cc = by_category[cat];
      ++cc.predicted;
      cc.predicted_right += m.flag && m.category == cat;
    }
    if (!m.evasion.empty()) {
      Add(&by_evasion[m.evasion], overall);
      Add(&report.evasions, overall);
    }
    for (const Finding& f : found) {
      if (f.severity < options.flag_at || !rules.count(f.rule->id)) continue;
      rules.erase(f.rule->id);  // once per message
      RuleCounts& rc = by_rule[f.rule->id];
      rc.rule = f.rule->id;
      rc.category = f.rule->category;
      if (m.flag && m.category == f.rule->category) {
        ++rc.true_flags;
      } else {
        ++rc.false_flags;
      }
    }
    if (c.outcome != EvalOutcome::kCaught && c.outcome != EvalOutcome::kPassed)
      report.problems.push_back(std::move(c));
  }
  report.by_category.assign(by_category.begin(), by_category.end());
  report.by_evasion.assign(by_evasion.begin(), by_evasion.end());
  for (auto& [id, rc] : by_rule) report.by_rule.push_back(std::move(rc));
  std::stable_sort(report.by_rule.begin(), report.by_rule.end(),
                   [](const RuleCounts& a, const RuleCounts& b) {
                     if (a.false_flags != b.false_flags) return a.false_flags > b.false_flags;
                     return a.rule < b.rule;
                   });
  return report;
}

std::string EvalReport::ToString(absl::Span<const LabelledMessage> cases,
                                 size_t max_listed) const {
  std::string out;
  absl::StrAppend(&out, "scriptqa eval: ", overall.flags + overall.passes, " messages (",
                  overall.flags, " violations, ", overall.passes,
                  " harmless); flagged = a finding at or above ", AV(SeverityName(flag_at)), "\n\n");
  absl::StrAppend(&out, Header("category"));
  for (const auto& [name, c] : by_category) absl::StrAppend(&out, Row(name, c));
  absl::StrAppend(&out, Row("overall", overall));
  if (!by_evasion.empty()) {
    absl::StrAppend(&out, "\n", Header("evasion"));
    for (const auto& [name, c] : by_evasion) absl::StrAppend(&out, Row(name, c));
    absl::StrAppend(&out, Row("all evasions", evasions));
  }
  if (!by_rule.empty()) {
    absl::StrAppend(&out, "\n  rule                                 true  false  precision\n");
    for (const RuleCounts& r : by_rule) {
      const uint64_t n = r.true_flags + r.false_flags;
      absl::StrAppend(&out, absl::StrFormat("  %-34s %6d %6d     %s\n", r.rule, r.true_flags,
                                            r.false_flags, Percent(n ? double(r.true_flags) / n : 0)));
    }
  }
  absl::StrAppend(&out, "\n  recall: violations flagged; categ: flagged with a finding of the "
                        "labelled category; FA: harmless messages flagged; prec: flagged messages "
                        "that are violations (of that category)\n");
  for (EvalOutcome kind : {EvalOutcome::kMissed, EvalOutcome::kWrongCategory, EvalOutcome::kFalseAlarm}) {
    size_t total = 0, listed = 0;
    for (const EvalCase& c : problems) total += c.outcome == kind;
    if (total == 0) continue;
    absl::StrAppend(&out, "\n", AV(EvalOutcomeName(kind)), " (", total, "):\n");
    for (const EvalCase& c : problems) {
      if (c.outcome != kind) continue;
      if (max_listed != 0 && listed++ >= max_listed) {
        absl::StrAppend(&out, "  … ", total - max_listed, " more (--all lists every one)\n");
        break;
      }
      const LabelledMessage& m = cases[c.index];
      std::string where = !m.id.empty() ? m.id : absl::StrCat("line ", m.line);
      absl::StrAppend(&out, "  ", where, " [", m.category.empty() ? "-" : m.category,
                      m.evasion.empty() ? "" : absl::StrCat(", ", m.evasion), "] ", m.text, "\n");
      if (m.has_span)
        absl::StrAppend(&out, "      labelled [", m.span.begin, ",", m.span.end, ")\n");
      absl::StrAppend(&out, "      ", FindingsText(c.findings), "\n");
    }
  }
  return out;
}

std::string EvalReport::ToJson(absl::Span<const LabelledMessage> cases) const {
  json cats = json::object(), evs = json::object(), rules = json::array(), probs = json::array();
  for (const auto& [name, c] : by_category) cats[name] = CountsJson(c);
  for (const auto& [name, c] : by_evasion) evs[name] = CountsJson(c);
  for (const RuleCounts& r : by_rule) {
    const uint64_t n = r.true_flags + r.false_flags;
    rules.push_back({{"rule", r.rule},
                     {"category", r.category},
                     {"true_flags", r.true_flags},
                     {"false_flags", r.false_flags},
                     {"precision", n ? double(r.true_flags) / n : 0.0}});
  }
  for (const EvalCase& c : problems) {
    const LabelledMessage& m = cases[c.index];
    json fs = json::array();
    for (const EvalFinding& f : c.findings)
      fs.push_back({{"rule", f.rule},
                    {"category", f.category},
                    {"severity", std::string(SeverityName(f.severity))},
                    {"start", f.chars.begin},
                    {"end", f.chars.end},
                    {"matched", f.matched}});
    json p{{"index", c.index},
           {"id", m.id},
           {"line", m.line},
           {"outcome", std::string(EvalOutcomeName(c.outcome))},
           {"text", m.text},
           {"expect", m.flag ? "flag" : "pass"},
           {"category", m.category},
           {"evasion", m.evasion},
           {"findings", fs}};
    if (m.has_span) p["span"] = {m.span.begin, m.span.end};
    probs.push_back(std::move(p));
  }
  json out{{"flag_at", std::string(SeverityName(flag_at))},
           {"overall", CountsJson(overall)},
           {"by_category", cats},
           {"by_evasion", evs},
           {"evasions", CountsJson(evasions)},
           {"by_rule", rules},
           {"problems", probs}};
  return out.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace scriptqa
