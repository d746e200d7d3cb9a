// Regressions: bugs found by fuzzing or by the resource-limit checks (docs/reliability.md,
// "Fixed"), each restated as a plain test through the public headers. The fuzz inputs that found
// them are replayed from tests/fuzz/regressions/<target>/ as well.
#include <gtest/gtest.h>

#include <set>
#include <tuple>

#include "fuzz_util.h"
#include "scriptqa/stream.h"

namespace scriptqa {
namespace {

using Key = std::tuple<std::string, size_t, size_t>;  // rule id, byte span

Key KeyOf(const Finding& f) { return {std::string(f.rule_id()), f.bytes.begin, f.bytes.end}; }

// Order promised by scanner.h: byte begin, longer first, rule index.
void ExpectDocumentedOrder(const std::vector<Finding>& fs) {
  for (size_t i = 1; i < fs.size(); ++i) {
    const Finding &a = fs[i - 1], &b = fs[i];
    const bool ok = a.bytes.begin < b.bytes.begin ||
                    (a.bytes.begin == b.bytes.begin &&
                     (a.bytes.end > b.bytes.end ||
                      (a.bytes.end == b.bytes.end && a.rule->index <= b.rule->index)));
    EXPECT_TRUE(ok) << "out of order: " << fuzz::Describe(fs);
  }
}

void ExpectNoDuplicates(const std::vector<Finding>& fs) {
  std::set<Key> keys;
  for (const Finding& f : fs)
    EXPECT_TRUE(keys.insert(KeyOf(f)).second) << "twice: " << fuzz::Describe(f) << " in "
                                              << fuzz::Describe(fs);
}

// Streams `text` in chunks of `chunk` bytes; returns the final findings and checks that each was
// reported exactly once along the way.
std::vector<Finding> Stream(const std::shared_ptr<const Filter>& filter, std::string_view text,
                            size_t chunk, Overlap overlap) {
  StreamOptions so;
  so.min_scan_bytes = 0;
  so.scan.overlap = overlap;
  auto s = StreamScanner::Create(filter, so);
  EXPECT_TRUE(s.ok()) << s.status();
  std::vector<Key> early;
  for (size_t p = 0; p < text.size(); p += chunk) {
    auto u = s->Write(text.substr(p, chunk));
    EXPECT_TRUE(u.ok()) << u.status();
    for (const Finding& f : u->new_findings) early.push_back(KeyOf(f));
  }
  auto u = s->Finish();
  EXPECT_TRUE(u.ok()) << u.status();
  for (const Finding& f : u->new_findings) early.push_back(KeyOf(f));
  std::vector<Finding> fin(s->findings().begin(), s->findings().end());
  std::vector<Key> want;
  for (const Finding& f : fin) want.push_back(KeyOf(f));
  std::sort(early.begin(), early.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(early, want) << "chunks of " << chunk << ": each finding must be reported once";
  return fin;
}

// Found by the scan target (regressions/scan/duplicate_findings_kall): ℡ normalises to "tel", and
// the contact-ID regexes matched "abc123t", "abc123te" and "abc123tel" — three hits in different
// normalised bytes with one original span. Overlap::kAll reported the same finding three times.
TEST(Regressions, OverlapAllReportsEachRuleAndSpanOnce) {
  const std::string text = "加微信abc123℡";
  auto filter = fuzz::DefaultFilter();
  auto scanner = Scanner::Create(filter);
  ASSERT_TRUE(scanner.ok());
  ScanOptions all;
  all.overlap = Overlap::kAll;
  auto fs = scanner->Scan(text, all);
  ASSERT_TRUE(fs.ok()) << fs.status();
  ASSERT_FALSE(fs->empty());
  ExpectNoDuplicates(*fs);
  ExpectDocumentedOrder(*fs);
  bool whole = false;  // the contact ID still spans the whole message, ℡ included
  for (const Finding& f : *fs)
    whole |= f.rule_id() == "off_platform.contact_id" && f.bytes.begin == 0 &&
             f.bytes.end == text.size();
  EXPECT_TRUE(whole) << fuzz::Describe(*fs);

  // Explain agrees: the repeated hits are traced, and say why they are not findings.
  auto e = scanner->Explain(text, all);
  ASSERT_TRUE(e.ok());
  size_t reported = 0, same_span = 0;
  for (const Trace& t : e->traces) {
    reported += t.decision == Decision::kReported;
    same_span += t.decision == Decision::kOverlapped &&
                 t.detail.find("same span") != std::string::npos;
  }
  EXPECT_EQ(reported, fs->size());
  EXPECT_GE(same_span, 2u) << e->ToString();

  // The default overlap mode keeps a subset; streams give the same, each finding once.
  auto longest = scanner->Scan(text);
  ASSERT_TRUE(longest.ok());
  for (const Finding& f : *longest) {
    bool in_all = false;
    for (const Finding& g : *fs) in_all |= KeyOf(f) == KeyOf(g);
    EXPECT_TRUE(in_all) << fuzz::Describe(f);
  }
  for (size_t chunk : {size_t{1}, size_t{3}, text.size()}) {
    SCOPED_TRACE(chunk);
    EXPECT_EQ(fuzz::Describe(Stream(filter, text, chunk, Overlap::kAll)), fuzz::Describe(*fs));
    EXPECT_EQ(fuzz::Describe(Stream(filter, text, chunk, Overlap::kLongestPerCategory)),
              fuzz::Describe(*longest));
  }
}

// Findings were ordered by their normalised spans; where two hits end inside one expanding
// character that is not the documented order (byte begin, longer first, rule index): "te" (rule 0)
// and "tel" (rule 1) both cover ℡ exactly, so rule 0 comes first.
TEST(Regressions, FindingsInsideOneExpandingCharacterComeInRuleOrder) {
  auto filter = Filter::FromDictionaries(
      {DictionarySource::Text("a.terms",
                              "%format scriptqa-terms 1\n%category ad_law\n%severity review\n"
                              "%reason r\nte\n"),
       DictionarySource::Text("b.terms",
                              "%format scriptqa-terms 1\n%category deflection\n%severity review\n"
                              "%reason r\ntel\n")});
  ASSERT_TRUE(filter.ok()) << filter.status();
  auto scanner = Scanner::Create(*filter);
  ASSERT_TRUE(scanner.ok());
  const std::string text = "请拨℡";
  for (Overlap overlap : {Overlap::kLongestPerCategory, Overlap::kAll}) {
    ScanOptions o;
    o.overlap = overlap;
    auto fs = scanner->Scan(text, o);
    ASSERT_TRUE(fs.ok());
    ASSERT_EQ(fs->size(), 2u) << fuzz::Describe(*fs);
    EXPECT_EQ((*fs)[0].bytes, (*fs)[1].bytes);
    ExpectDocumentedOrder(*fs);
    for (size_t chunk : {size_t{1}, text.size()})
      EXPECT_EQ(fuzz::Describe(Stream(*filter, text, chunk, overlap)), fuzz::Describe(*fs));
  }
}

}  // namespace
}  // namespace scriptqa
