// The default rule packs: every rule's own examples, clean rewrites, clean suggestions, and the
// project-owned labelled set (tests/testdata/labelled.tsv).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "scriptqa/scanner.h"
#include "test_util.h"

namespace scriptqa {
namespace {

using testing::DefaultFilter;

Scanner MakeScanner() { return std::move(*Scanner::Create(DefaultFilter())); }

// Whether scanning `text` with Overlap::kAll gives a finding of rule `r` (the scan must succeed).
bool Hits(Scanner& s, const Rule& r, const std::string& text) {
  ScanOptions all;
  all.overlap = Overlap::kAll;
  auto fs = s.Scan(text, all);
  EXPECT_TRUE(fs.ok()) << fs.status();
  if (!fs.ok()) return false;
  return std::any_of(fs->begin(), fs->end(), [&](const Finding& f) { return f.rule == &r; });
}

TEST(DefaultPacks, EveryRuleIsComplete) {
  const auto& builtin = BuiltinCategories();
  ASSERT_GE(DefaultFilter()->rules().size(), 50u);
  std::map<std::string, int> per_category;
  for (const Rule& r : DefaultFilter()->rules()) {
    SCOPED_TRACE(r.id);
    EXPECT_NE(std::find(builtin.begin(), builtin.end(), r.category), builtin.end());
    EXPECT_FALSE(r.reason.empty());
    EXPECT_FALSE(r.suggestions.empty());
    EXPECT_FALSE(r.hit_examples.empty());
    EXPECT_FALSE(r.miss_examples.empty());
    EXPECT_EQ(r.id.rfind(r.category + ".", 0), 0u) << "rule ids start with their category";
    ++per_category[r.category];
  }
  for (const std::string& c : builtin) EXPECT_GT(per_category[c], 0) << c;
}

TEST(DefaultPacks, EveryRuleHitsItsHitExamplesAndMissesItsMissExamples) {
  Scanner s = MakeScanner();
  int checked = 0;
  for (const Rule& r : DefaultFilter()->rules()) {
    for (const std::string& m : r.hit_examples) {
      EXPECT_TRUE(Hits(s, r, m)) << r.id << " misses its hit example: " << m << "\n"
                                 << s.Explain(m)->ToString();
      ++checked;
    }
    for (const std::string& m : r.miss_examples) {
      EXPECT_FALSE(Hits(s, r, m)) << r.id << " fires on its miss example: " << m;
      ++checked;
    }
  }
  EXPECT_GT(checked, 100);
}

// Every hit example still hits after 0..63 characters of neutral text and a full stop, so that
// its bytes lie at every offset modulo 64 in the engine's buffers. Vectorscan 5.4.9's AVX-512
// runtime (Debian 12's libvectorscan5, on a CPU with AVX-512) misses regex matches at some
// offsets: "亲，您好，发票已经……您的邮箱是zhangsan1988@qq.com对吗" gave no privacy.email finding, and
// `\d{2,40}@` found "1988@" at 23 of 64 buffer offsets (docs/design.md, "Hyperscan, and
// Vectorscan only where ...").
TEST(DefaultPacks, EveryHitExampleHitsAtEveryOffset) {
  Scanner s = MakeScanner();
  int missed = 0;
  for (const Rule& r : DefaultFilter()->rules()) {
    for (const std::string& m : r.hit_examples) {
      std::string text;
      for (int k = 0; k < 64; ++k) {
        text.clear();
        for (int i = 0; i < k; ++i) text += "好";
        text += k > 0 ? "。" + m : m;
        if (!Hits(s, r, text) && ++missed <= 10)
          ADD_FAILURE() << r.id << " misses its hit example after " << k << " characters: " << m;
      }
    }
  }
  EXPECT_EQ(missed, 0);
}

// What a message says far after a hit does not change how the hit is decided: every example of
// every rule is scanned alone and followed by a long run of a character no list holds; its
// findings must be the same: the checks' windows end at a sentence end or a cap, however much
// text follows.
TEST(DefaultPacks, TextFarAfterAHitDoesNotChangeItsDecision) {
  Scanner s = MakeScanner();
  std::string tail = "。";
  for (int i = 0; i < 400; ++i) tail += "鼀";
  auto decided = [&](const std::string& text, size_t within) {
    std::vector<std::string> out;
    auto found = s.Scan(text);
    EXPECT_TRUE(found.ok()) << found.status();
    if (!found.ok()) return out;
    for (const Finding& f : *found)
      if (f.bytes.end <= within)
        out.push_back(absl::StrCat(f.rule->id, "@", f.bytes.begin, "-", f.bytes.end, ":",
                                   static_cast<int>(f.severity)));
    std::sort(out.begin(), out.end());
    return out;
  };
  size_t compared = 0;
  for (const Rule& r : DefaultFilter()->rules()) {
    for (const auto* examples : {&r.hit_examples, &r.miss_examples}) {
      for (const std::string& m : *examples) {
        EXPECT_EQ(decided(m, m.size()), decided(m + tail, m.size())) << r.id << ": " << m;
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 500u);
}

TEST(DefaultPacks, RewriteOfEveryHitExampleIsClean) {
  Scanner s = MakeScanner();
  for (const Rule& r : DefaultFilter()->rules()) {
    for (const std::string& m : r.hit_examples) {
      auto rw = s.Rewrite(m);
      ASSERT_TRUE(rw.ok());
      EXPECT_TRUE(rw->clean) << r.id << ": " << m << " -> " << rw->text;
      auto again = s.Scan(rw->text);
      ASSERT_TRUE(again.ok());
      for (const Finding& f : *again)
        EXPECT_LT(f.severity, Severity::kReview) << r.id << ": rewrite '" << rw->text
                                                  << "' still has " << f.rule->id;
    }
  }
}

// A rewrite replaces the whole claim, so that no piece of it is left beside the suggestion
// ("这款是全网最低价" must not become "这款是现在活动价很划算价", nor "好评返现5元哦"
// "…进行评价返现5元哦"). For every hit example of every rule, read from the packs as they are:
//   1. every confirmed hit (any rule, overlapping or not) lies inside a replaced span: no part of
//      a phrase that was flagged survives next to the replacement;
//   2. the span that replaced a hit of a rule with companions (`with`) holds one companion of each
//      group: the incentive and its amount go with the review act, the channel with the act of
//      leading the customer there.
TEST(DefaultPacks, RewriteReplacesTheWholeClaimOfEveryHitExample) {
  Scanner s = MakeScanner();
  const Filter& filter = *DefaultFilter();
  ScanOptions all;
  all.overlap = Overlap::kAll;
  size_t checked = 0;
  for (const Rule& r : filter.rules()) {
    for (const std::string& m : r.hit_examples) {
      auto rw = s.Rewrite(m);
      ASSERT_TRUE(rw.ok()) << rw.status();
      auto confirmed = s.Scan(m, all);
      ASSERT_TRUE(confirmed.ok());
      auto covering = [&](Span b) -> const Finding* {
        for (const Finding& x : rw->replaced)
          if (x.bytes.begin <= b.begin && b.end <= x.bytes.end) return &x;
        return nullptr;
      };
      for (const Finding& f : *confirmed) {
        const Finding* by = covering(f.bytes);
        EXPECT_NE(by, nullptr) << r.id << ": \"" << m << "\" -> \"" << rw->text << "\": the hit "
                               << f.rule->id << " \"" << f.text
                               << "\" is not inside a replaced span (part of it is left)";
        if (by == nullptr || f.rule != &r || r.with.empty()) continue;
        const std::string replaced = filter.Normalize(by->text);
        for (const Companions& group : r.with) {
          bool inside = std::any_of(group.terms.begin(), group.terms.end(), [&](const std::string& t) {
            return replaced.find(t) != std::string::npos;
          });
          EXPECT_TRUE(inside) << r.id << ": \"" << m << "\" -> \"" << rw->text << "\": the replaced \""
                              << by->text << "\" leaves out its companion (" << group.terms.front()
                              << " …)";
        }
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 100u);
}

TEST(DefaultPacks, SuggestionsAreCleanOnTheirOwn) {
  Scanner s = MakeScanner();
  for (const Rule& r : DefaultFilter()->rules()) {
    for (const std::string& sug : r.suggestions) {
      if (sug.find('{') != std::string::npos) continue;  // templates: covered by the rewrite test
      auto fs = s.Scan(sug);
      ASSERT_TRUE(fs.ok());
      for (const Finding& f : *fs)
        EXPECT_LT(f.severity, Severity::kReview) << r.id << " suggests '" << sug << "' which has "
                                                  << f.rule->id;
    }
  }
}

struct Labelled {
  int line;
  std::string label, matched, message;
};

std::vector<Labelled> LoadLabelled() {
  std::vector<Labelled> out;
  auto lines = testing::SplitLines(
      testing::ReadFileOrDie(std::string(SCRIPTQA_TESTDATA_DIR) + "/labelled.tsv"));
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty() || lines[i][0] == '#') continue;
    size_t a = lines[i].find('\t'), b = lines[i].find('\t', a + 1);
    if (a == std::string::npos || b == std::string::npos) {
      ADD_FAILURE() << "labelled.tsv:" << i + 1 << ": expected three tab-separated fields";
      continue;
    }
    out.push_back({static_cast<int>(i + 1), lines[i].substr(0, a), lines[i].substr(a + 1, b - a - 1),
                   lines[i].substr(b + 1)});
  }
  return out;
}

TEST(LabelledSet, EveryViolationCaughtWithItsSpanAndNoHarmlessMessageFlagged) {
  Scanner s = MakeScanner();
  std::vector<Labelled> set = LoadLabelled();
  ASSERT_GE(set.size(), 200u);
  int violations = 0, harmless = 0;
  for (const Labelled& l : set) {
    SCOPED_TRACE("labelled.tsv:" + std::to_string(l.line) + ": " + l.message);
    auto fs = s.Scan(l.message);
    ASSERT_TRUE(fs.ok());
    if (l.label == "-") {
      ++harmless;
      for (const Finding& f : *fs)
        EXPECT_LT(f.severity, Severity::kReview)
            << "harmless message flagged by " << f.rule->id << " on '" << f.text << "'\n"
            << s.Explain(l.message)->ToString();
      continue;
    }
    ++violations;
    size_t begin = l.message.find(l.matched);
    ASSERT_NE(begin, std::string::npos) << "matched text not in message";
    // A finding of the category on the claim: its span overlaps the labelled one (a rule may
    // report the claim word alone, 第一 in 销量第一, or the claim with its qualifier, 全网最低价).
    const size_t end = begin + l.matched.size();
    bool found = false;
    for (const Finding& f : *fs)
      found |= f.category() == l.label && f.bytes.begin < end &&
               f.bytes.end > begin;
    EXPECT_TRUE(found) << "expected " << l.label << " on '" << l.matched << "'\n"
                       << s.Explain(l.message)->ToString();
  }
  EXPECT_GE(violations, 120);
  EXPECT_GE(harmless, 80);
}

}  // namespace
}  // namespace scriptqa
