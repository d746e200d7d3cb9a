// Fuzz target: Scan, Explain, HasFinding and Rewrite on arbitrary messages.
//   * every finding lies inside the message, on character boundaries, with character offsets
//     that count code points as types.h says (each maximal invalid subsequence is one), and a
//     text that views exactly its byte span; findings come in the documented order;
//   * the callback form, Explain and HasFinding agree with Scan; Overlap::kAll keeps a superset;
//   * InvalidUtf8::kReject fails exactly for invalid UTF-8, naming the first invalid byte;
//   * Rewrite's result is clean (no block/review finding), and a fresh scan of it agrees; it is
//     at most MaxRewriteBytes of the message;
//   * a message made only of noise characters gives no finding.
// Input: byte 0 selects filter and options; with bit 7 set the rest is turned into a message of
// noise characters (one per byte), otherwise the rest is the message.
#include <algorithm>

#include "fuzz_util.h"

namespace scriptqa::fuzz {
namespace {

struct Setup {
  std::shared_ptr<const Filter> filter;
  std::unique_ptr<Scanner> scanner;
};

Setup Make(std::shared_ptr<const Filter> f) {
  auto s = Scanner::Create(f);
  FUZZ_CHECK(s.ok(), "Scanner::Create: %s", std::string(s.status().message()).c_str());
  return {f, std::make_unique<Scanner>(std::move(*s))};
}

std::vector<Setup>& Setups() {
  static std::vector<Setup>* setups = [] {
    auto* v = new std::vector<Setup>();
    v->push_back(Make(DefaultFilter()));
    v->push_back(Make(CoreFilter()));
    FilterOptions o;
    o.normalization.collapse_repeats = true;
    v->push_back(Make(CoreFilter(o)));
    return v;
  }();
  return *setups;
}

bool SameFindings(const std::vector<Finding>& a, const std::vector<Finding>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].rule != b[i].rule || !(a[i].bytes == b[i].bytes) || !(a[i].chars == b[i].chars) ||
        a[i].severity != b[i].severity)
      return false;
  return true;
}

void CheckOrder(const std::vector<Finding>& fs, std::string_view text) {
  for (size_t i = 1; i < fs.size(); ++i) {
    const Finding &a = fs[i - 1], &b = fs[i];
    const bool duplicate = a.rule == b.rule && a.bytes == b.bytes;
    if (!Ignored("duplicate_findings"))
      FUZZ_CHECK(!duplicate, "the same finding twice: %s; text %s", Describe(fs).c_str(),
                 Hex(text).c_str());
    if (Ignored("findings_order")) continue;
    // Order: byte begin, longer first, rule index (scanner.h).
    bool ok = a.bytes.begin < b.bytes.begin ||
              (a.bytes.begin == b.bytes.begin &&
               (a.bytes.end > b.bytes.end ||
                (a.bytes.end == b.bytes.end && a.rule->index <= b.rule->index)));
    FUZZ_CHECK(ok, "findings out of order: %s; text %s", Describe(fs).c_str(), Hex(text).c_str());
  }
}

void CheckMessage(Setup& s, std::string_view text, const ScanOptions& options) {
  Scanner& sc = *s.scanner;
  absl::StatusOr<std::vector<Finding>> r = sc.Scan(text, options);
  FUZZ_CHECK(r.ok(), "Scan failed: %s; text %s", std::string(r.status().message()).c_str(),
             Hex(text).c_str());
  const std::vector<Finding> fs = *r;
  const std::vector<int64_t> chars = CharIndex(text);
  for (const Finding& f : fs) {
    CheckFinding(f, text, chars, "Scan");
    FUZZ_CHECK(f.severity >= options.min_severity, "finding below min_severity");
  }
  CheckOrder(fs, text);
  if (options.overlap == Overlap::kLongestPerCategory) {
    // Within a category, kept findings do not overlap.
    for (size_t i = 0; i < fs.size(); ++i)
      for (size_t j = i + 1; j < fs.size() && fs[j].bytes.begin < fs[i].bytes.end; ++j)
        FUZZ_CHECK(fs[i].category() != fs[j].category(),
                   "overlapping findings of one category: %s; text %s", Describe(fs).c_str(),
                   Hex(text).c_str());
  }

  // The callback form sees the same findings.
  std::vector<Finding> cb;
  absl::Status st = sc.Scan(text, options, [&](const Finding& f) {
    cb.push_back(f);
    return ScanControl::kContinue;
  });
  FUZZ_CHECK(st.ok() && SameFindings(cb, fs), "callback Scan differs: %s vs %s",
             Describe(cb).c_str(), Describe(fs).c_str());
  // Explain's findings are Scan's; its traces cover every finding.
  absl::StatusOr<Explanation> e = sc.Explain(text, options);
  FUZZ_CHECK(e.ok() && SameFindings(e->findings, fs), "Explain differs from Scan; text %s",
             Hex(text).c_str());
  size_t reported = 0;
  for (const Trace& t : e->traces) reported += t.decision == Decision::kReported;
  FUZZ_CHECK(reported == fs.size(), "%zu traces say reported, %zu findings; text %s", reported,
             fs.size(), Hex(text).c_str());
  // HasFinding at each level.
  for (Severity at : {Severity::kAdvice, Severity::kReview, Severity::kBlock}) {
    absl::StatusOr<bool> h = sc.HasFinding(text, at, options);
    bool want = std::any_of(fs.begin(), fs.end(), [&](const Finding& f) { return f.severity >= at; });
    // A finding below `at` may hide a finding of the same category at `at` (overlap), so only
    // "Scan has one" implies "HasFinding says yes".
    FUZZ_CHECK(h.ok() && (!want || *h), "HasFinding(%d) false but Scan found %s; text %s",
               static_cast<int>(at), Describe(fs).c_str(), Hex(text).c_str());
  }
  // kAll keeps every finding of the default overlap mode.
  if (options.overlap == Overlap::kLongestPerCategory) {
    ScanOptions all = options;
    all.overlap = Overlap::kAll;
    absl::StatusOr<std::vector<Finding>> a = sc.Scan(text, all);
    FUZZ_CHECK(a.ok(), "Scan(kAll) failed");
    for (const Finding& f : fs) {
      bool found = std::any_of(a->begin(), a->end(), [&](const Finding& g) {
        return g.rule == f.rule && g.bytes == f.bytes;
      });
      FUZZ_CHECK(found, "kAll lacks %s; text %s", Describe(f).c_str(), Hex(text).c_str());
    }
  }
  // kReject fails exactly on invalid UTF-8, at the first invalid byte.
  ScanOptions reject = options;
  reject.invalid_utf8 = InvalidUtf8::kReject;
  absl::StatusOr<std::vector<Finding>> rj = sc.Scan(text, reject);
  size_t bad = FirstInvalid(text);
  if (bad == std::string_view::npos) {
    FUZZ_CHECK(rj.ok() && SameFindings(*rj, fs), "kReject differs on valid UTF-8; text %s",
               Hex(text).c_str());
  } else {
    FUZZ_CHECK(!rj.ok() && rj.status().code() == absl::StatusCode::kInvalidArgument &&
                   rj.status().message() == "invalid UTF-8 at byte " + std::to_string(bad),
               "kReject on invalid UTF-8 (first at byte %zu): %s; text %s", bad,
               rj.ok() ? "accepted" : std::string(rj.status().message()).c_str(), Hex(text).c_str());
  }
}

void CheckRewrite(Setup& s, std::string_view text) {
  Scanner& sc = *s.scanner;
  absl::StatusOr<Rewritten> rw = sc.Rewrite(text);
  FUZZ_CHECK(rw.ok(), "Rewrite failed: %s", std::string(rw.status().message()).c_str());
  CheckRewriteSize(*rw, text);
  const std::vector<int64_t> chars = CharIndex(text);
  size_t last_end = 0;
  for (const Finding& f : rw->replaced) {
    CheckFinding(f, text, chars, "Rewrite.replaced");
    FUZZ_CHECK(f.bytes.begin >= last_end, "replaced spans overlap or are unordered; text %s",
               Hex(text).c_str());
    last_end = f.bytes.end;
  }
  std::string out = rw->text;
  absl::StatusOr<bool> dirty = sc.HasFinding(out, Severity::kReview);
  FUZZ_CHECK(dirty.ok(), "scan of the rewrite failed");
  FUZZ_CHECK(rw->clean == !*dirty, "Rewritten.clean=%d but a fresh scan says dirty=%d; text %s",
             rw->clean, *dirty, Hex(text).c_str());
  if (!Ignored("rewrite_clean")) {
    absl::StatusOr<std::vector<Finding>> left = sc.Scan(out);
    FUZZ_CHECK(rw->clean, "Rewrite is not clean: text %s -> %s; left: %s", Hex(text).c_str(),
               Hex(out).c_str(), left.ok() ? Describe(*left).c_str() : "?");
  }
}

}  // namespace
}  // namespace scriptqa::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace scriptqa::fuzz;
  using scriptqa::Overlap;
  using scriptqa::ScanOptions;
  using scriptqa::Severity;
  if (size > (1 << 16)) return 0;
  Input in(data, size);
  const uint8_t sel = in.Byte();
  auto& setups = Setups();
  Setup& s = setups[(sel & 3) % setups.size()];
  ScanOptions o;
  o.overlap = (sel & 4) ? Overlap::kAll : Overlap::kLongestPerCategory;
  o.min_severity = static_cast<Severity>(((sel >> 3) & 3) % 3);
  std::string text = in.Rest();
  if (sel & 0x80) {
    // Only noise: nothing may be found, whatever the rules.
    std::string noise;
    const auto& chars = NoiseCharacters();
    for (unsigned char c : text) noise += chars[c % chars.size()];
    for (Setup& t : setups) {
      for (Overlap ov : {Overlap::kLongestPerCategory, Overlap::kAll}) {
        ScanOptions no;
        no.overlap = ov;
        absl::StatusOr<std::vector<scriptqa::Finding>> r = t.scanner->Scan(noise, no);
        FUZZ_CHECK(r.ok() && r->empty(), "finding in a noise-only message %s: %s",
                   Hex(noise).c_str(), r.ok() ? Describe(*r).c_str() : "error");
      }
      FUZZ_CHECK(t.filter->Normalize(noise).empty(), "noise normalises to '%s'",
                 t.filter->Normalize(noise).c_str());
    }
    return 0;
  }
  CheckMessage(s, text, o);
  CheckRewrite(s, text);
  return 0;
}
