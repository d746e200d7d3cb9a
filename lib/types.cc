#include "scriptqa/types.h"

#include "absl/strings/str_cat.h"
#include "dictionary.h"
#include "scriptqa/scanner.h"
#include "utf8.h"
#include "validators.h"

namespace scriptqa {

std::string_view SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kAdvice: return "advice";
    case Severity::kReview: return "review";
    case Severity::kBlock: return "block";
  }
  return "unknown";
}

bool ParseSeverity(std::string_view name, Severity* out) {
  if (name == "advice") *out = Severity::kAdvice;
  else if (name == "review") *out = Severity::kReview;
  else if (name == "block") *out = Severity::kBlock;
  else return false;
  return true;
}

std::string_view DecisionName(Decision d) {
  switch (d) {
    case Decision::kReported: return "reported";
    case Decision::kBoundary: return "boundary";
    case Decision::kAllowContext: return "allow_context";
    case Decision::kNegated: return "negated";
    case Decision::kMissingContext: return "missing_context";
    case Decision::kValidatorFailed: return "validator_failed";
    case Decision::kDisabled: return "disabled";
    case Decision::kProfileAllowed: return "profile_allowed";
    case Decision::kBelowThreshold: return "below_threshold";
    case Decision::kOverlapped: return "overlapped";
    case Decision::kSpeechAct: return "speech_act";
  }
  return "unknown";
}

namespace {

bool Maskable(char32_t c) {
  return internal::DigitValue(c) >= 0 || (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z') ||
         (c >= U'\uFF21' && c <= U'\uFF3A') || (c >= U'\uFF41' && c <= U'\uFF5A');
}

std::string Mask(std::string_view matched, size_t keep_front, size_t keep_back) {
  std::u32string cps = internal::DecodeAll(matched);
  size_t n = 0;
  for (char32_t c : cps) n += Maskable(c);
  bool mask_all = n <= keep_front + keep_back;
  std::string out;
  size_t k = 0;
  for (char32_t c : cps) {
    if (Maskable(c)) {
      bool keep = !mask_all && (k < keep_front || k >= n - keep_back);
      ++k;
      if (!keep) {
        out += '*';
        continue;
      }
    }
    internal::AppendUtf8(static_cast<uint32_t>(c), &out);
  }
  return out;
}

}  // namespace

namespace internal {

bool RenderSuggestionTo(std::string_view t, std::string_view matched, size_t limit,
                        std::string* out) {
  auto append = [&](std::string_view piece) {
    if (piece.size() > limit || out->size() > limit - piece.size()) return false;
    out->append(piece);
    return true;
  };
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if ((c == '{' || c == '}') && i + 1 < t.size() && t[i + 1] == c) {
      if (!append(t.substr(i, 1))) return false;
      ++i;
      continue;
    }
    if (c != '{') {
      if (!append(t.substr(i, 1))) return false;
      continue;
    }
    size_t close = t.find('}', i);
    if (close == std::string_view::npos) return append(t.substr(i));  // rejected at load time
    std::string_view name = t.substr(i + 1, close - i - 1);
    bool ok;
    if (name == "match") {
      ok = append(matched);
    } else if (name == "masked") {
      ok = append(Mask(matched, 3, 4));
    } else if (name.size() == 10 && name.substr(0, 7) == "masked:") {
      ok = append(Mask(matched, static_cast<size_t>(name[7] - '0'),
                       static_cast<size_t>(name[9] - '0')));
    } else {
      ok = append(t.substr(i, close - i + 1));
    }
    if (!ok) return false;
    i = close;
  }
  return true;
}

}  // namespace internal

std::string RenderSuggestion(std::string_view t, std::string_view matched) {
  std::string out;
  internal::RenderSuggestionTo(t, matched, SIZE_MAX, &out);
  return out;
}

std::string Finding::Suggestion(size_t i) const {
  if (!rule || i >= rule->suggestions.size()) return "";
  return RenderSuggestion(rule->suggestions[i], text);
}

std::vector<std::string> Finding::Suggestions() const {
  std::vector<std::string> out;
  if (!rule) return out;
  for (size_t i = 0; i < rule->suggestions.size(); ++i) out.push_back(Suggestion(i));
  return out;
}

std::string Explanation::ToString() const {
  std::string out = absl::StrCat("normalized: ", normalized, "\n");
  if (traces.empty()) absl::StrAppend(&out, "no raw hits\n");
  for (const Trace& t : traces) {
    absl::StrAppend(&out, "hit ", t.rule->id, " [", t.bytes.begin, ",", t.bytes.end, ") ",
                    std::string(DecisionName(t.decision)));
    if (!t.detail.empty()) absl::StrAppend(&out, ": ", t.detail);
    out += "\n";
  }
  for (const Finding& f : findings)
    absl::StrAppend(&out, "finding ", f.rule->id, " ", std::string(SeverityName(f.severity)),
                    " [", f.bytes.begin, ",", f.bytes.end, ") '", std::string(f.text), "' -> '",
                    f.Suggestion(), "'\n");
  return out;
}

}  // namespace scriptqa
