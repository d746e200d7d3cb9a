// Regressions: bugs found by fuzzing or by the resource-limit checks (docs/reliability.md,
// "Fixed"), each restated as a plain test through the public headers. The fuzz inputs that found
// them are replayed from tests/fuzz/regressions/<target>/ as well.
#include <gtest/gtest.h>

#include <set>
#include <tuple>

#include "absl/strings/str_replace.h"
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

// Found by the stream target in CI's fuzz stage (regressions/stream/clause_after_the_hit_grows):
// a literal read across the end of a sentence is noise only where a side is a whole clause of one
// character (加，微。信). A stream judged the clause after the break on the text so far, where "信"
// was still a clause of one character, and reported 加微⏎信 before "好的" made it a clause of
// three, which Scan rejects; the finding was then missing from findings().
TEST(Regressions, AClauseAfterTheHitIsJudgedWhenItEnds) {
  auto filter = Filter::FromDictionaries({DictionarySource::Text(
      "w.terms", "%format scriptqa-terms 1\n%category off_platform\n%severity block\n"
                 "%reason r\n加微信\n")});
  ASSERT_TRUE(filter.ok()) << filter.status();
  auto scanner = Scanner::Create(*filter);
  ASSERT_TRUE(scanner.ok());
  struct Case {
    std::string text;
    size_t findings;
  };
  for (const Case& c : {Case{"加微\n信好的", 0}, Case{"加微\n信。好的", 1}, Case{"加，微。信", 1},
                        Case{"加微\n信", 1}, Case{"好的，加微\n信好的", 0}}) {
    SCOPED_TRACE(c.text);
    auto fs = scanner->Scan(c.text);
    ASSERT_TRUE(fs.ok());
    EXPECT_EQ(fs->size(), c.findings) << fuzz::Describe(*fs);
    for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, c.text.size()}) {
      SCOPED_TRACE(chunk);
      EXPECT_EQ(fuzz::Describe(Stream(*filter, c.text, chunk, Overlap::kLongestPerCategory)),
                fuzz::Describe(*fs));
    }
  }
}

// Found while documenting the resource limits: Scan refuses a message that normalises past 4x its
// size + 64 KiB (U+FDFA expands elevenfold), but StreamScanner normalised without a bound, and
// 32 MiB of U+FDFA with one hit ended in std::bad_alloc (an abort) under a 2 GiB address-space
// limit. The stream applies the bound to every prefix now.
TEST(Regressions, StreamsRefuseExpandingCharactersLikeScan) {
  auto filter = fuzz::DefaultFilter();
  auto scanner = Scanner::Create(filter);
  ASSERT_TRUE(scanner.ok());
  std::string fdfa;
  for (int i = 0; i < 10000; ++i) fdfa += "\xef\xb7\xba";  // 30 KB -> 330 KB normalised
  const std::string text = "加微信" + fdfa;
  auto block = scanner->Scan(text);
  ASSERT_FALSE(block.ok());
  ASSERT_EQ(block.status().code(), absl::StatusCode::kResourceExhausted);
  // Normalised only in Finish() (one batch): exactly Scan's status.
  StreamOptions once;
  once.min_scan_bytes = 1 << 20;
  auto s = StreamScanner::Create(filter, once);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s->Write(text).ok());
  auto fin = s->Finish();
  ASSERT_FALSE(fin.ok());
  EXPECT_EQ(fin.status(), block.status());
  EXPECT_FALSE(s->Write("x").ok());
  // In small chunks: refused by the Write that passes the bound, never later than Scan.
  StreamOptions small;
  small.min_scan_bytes = 0;
  ASSERT_TRUE(s->Reset(small).ok());
  absl::Status failure;
  size_t failed_at = 0;
  for (size_t p = 0; p < text.size() && failure.ok(); p += 1024) {
    auto u = s->Write(std::string_view(text).substr(p, 1024));
    if (!u.ok()) failure = u.status(), failed_at = p + 1024;
  }
  ASSERT_FALSE(failure.ok());
  EXPECT_EQ(failure.code(), absl::StatusCode::kResourceExhausted) << failure;
  EXPECT_LT(failed_at, text.size());
  EXPECT_NE(failure.message().find("the first"), absl::string_view::npos) << failure;
  // Ordinary text after it does not make the stream accept what it refused; Scan judges the whole
  // message and accepts it (the documented difference, stream.h).
  const std::string diluted = fdfa + std::string(300000, 'x');
  EXPECT_TRUE(scanner->Scan(diluted).ok());
  s->Reset();
  bool refused = false;
  for (size_t p = 0; p < diluted.size() && !refused; p += 4096)
    refused = !s->Write(std::string_view(diluted).substr(p, 4096)).ok();
  EXPECT_TRUE(refused);
}

// Found by reading the normaliser's room check: it refused a message once the output so far plus
// the input still to read (a worst case) passed the bound, and checked that only when its buffer
// had to grow. So "最佳" + 4,400 U+FDFA + 3,600 spaces (16,806 bytes, normalised 132,006, within
// 4x + 64 KiB = 132,760) was refused as "normalises to more than 132760 bytes" by a new scanner,
// and accepted by one whose buffer an earlier long message had grown. The bound now judges the
// output itself: within it the message is scanned, whatever was scanned before; past it refused.
TEST(Regressions, ExpansionBoundJudgesTheOutputNotTheBufferHistory) {
  auto filter = fuzz::DefaultFilter();
  auto message = [](int fdfa, int spaces) {
    std::string t = "最佳";
    for (int i = 0; i < fdfa; ++i) t += "\xef\xb7\xba";
    return t + std::string(spaces, ' ');
  };
  auto bound = [](const std::string& t) { return 4 * t.size() + (size_t{64} << 10); };
  const std::string within = message(4400, 3600), past = message(4500, 3600);
  ASSERT_LE(filter->Normalize(within).size(), bound(within));
  ASSERT_GT(filter->Normalize(past).size(), bound(past));
  const std::string plain = within.substr(std::string("最佳").size());  // no hit: no offset map
  const std::string earlier(1 << 20, 'a');

  for (bool grown : {false, true}) {
    SCOPED_TRACE(grown ? "after a 1 MiB message" : "new scanner");
    auto scanner = Scanner::Create(filter);
    ASSERT_TRUE(scanner.ok());
    if (grown) ASSERT_TRUE(scanner->Scan(earlier).ok());
    auto fs = scanner->Scan(within);
    ASSERT_TRUE(fs.ok()) << fs.status();
    ASSERT_FALSE(fs->empty());
    EXPECT_EQ(fs->front().rule_id(), "ad_law.best");
    EXPECT_EQ(fs->front().bytes.begin, 0u);
    auto none = scanner->Scan(plain);
    ASSERT_TRUE(none.ok()) << none.status();
    EXPECT_TRUE(none->empty());
    auto refused = scanner->Scan(past);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
    // Batches (one buffer for many messages) and a stream judge each message the same way.
    const std::vector<std::string_view> batch = {earlier, within, plain, past};
    std::vector<absl::StatusCode> codes;
    ASSERT_TRUE(scanner
                    ->ScanBatch(batch, {},
                                [&](size_t, const absl::Status& st, absl::Span<const Finding>) {
                                  codes.push_back(st.code());
                                })
                    .ok());
    EXPECT_EQ(codes, (std::vector<absl::StatusCode>{absl::StatusCode::kOk, absl::StatusCode::kOk,
                                                    absl::StatusCode::kOk,
                                                    absl::StatusCode::kResourceExhausted}));
  }
  // A stream given the message in one write (in smaller ones its prefix bound refuses it: Open).
  const std::vector<Finding> streamed = Stream(filter, within, within.size(), ScanOptions{}.overlap);
  ASSERT_FALSE(streamed.empty());
  EXPECT_EQ(streamed.front().rule_id(), "ad_law.best");
}

// Found by the compile target in CI's fuzz stage, the first run on Hyperscan 5.4.0
// (regressions/compile/hyperscan_literal_scan_error): with the terms "e2x" + 34 x "2" and "2", the
// engine's literal matcher fails every scan of a text holding the first with HS_UNKNOWN_ERROR, so
// the filter loaded and Scan failed. A term the engine cannot scan is refused at load, naming its
// line; an engine without the fault (Vectorscan) loads it and finds it.
TEST(Regressions, TermsTheEngineCannotScanAreRefusedAtLoad) {
  const std::string term = "e2x" + std::string(34, '2');
  DictionarySource src;
  src.path = "shop.terms";
  src.content = term + "\n2\n";
  src.kind = DictionarySource::Kind::kTermList;
  src.category = "ad_law";
  auto filter = Filter::FromDictionaries({src});
  if (!filter.ok()) {
    EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(filter.status().message().find("shop.terms:1"), absl::string_view::npos)
        << filter.status();
    EXPECT_NE(filter.status().message().find("engine rejected literal"), absl::string_view::npos)
        << filter.status();
    return;
  }
  auto scanner = Scanner::Create(*filter);
  ASSERT_TRUE(scanner.ok());
  auto fs = scanner->Scan("1se" + term);
  ASSERT_TRUE(fs.ok()) << fs.status();
  EXPECT_FALSE(fs->empty());
}

// The same at the size that aborted, in a child with a 2 GiB address-space limit (not under ASan,
// whose shadow memory needs more).
TEST(Regressions, StreamOfThirtyTwoMiBOfExpandingCharactersFailsCleanly) {
  std::string text;
  text.reserve(32u << 20);
  while (text.size() < (32u << 20)) text += "\xef\xb7\xba";
  text += "加微信";
  auto filter = fuzz::DefaultFilter();
  EXPECT_EQ(fuzz::RunInBoundedChild([&] {
              auto s = StreamScanner::Create(filter);
              if (!s.ok()) return 4;
              for (size_t p = 0; p < text.size(); p += 65536) {
                auto u = s->Write(std::string_view(text).substr(p, 65536));
                if (!u.ok()) return u.status().code() == absl::StatusCode::kResourceExhausted ? 0 : 3;
              }
              auto fin = s->Finish();  // where the old code built the whole offset map and aborted
              return fin.ok() ? 2 : fin.status().code() == absl::StatusCode::kResourceExhausted ? 0 : 3;
            }),
            "")
      << " (2: never refused; 3: refused with another code; 4: no stream; signal 6: an abort)";
}

// Found by the normalize target (regressions/normalize/idempotent_lao_am_after_noise): U+0EB3
// LAO VOWEL SIGN AM becomes U+0ECD (a nonspacing mark) + U+0EB2. It was kept whole wherever it
// stood, and a second pass dropped the mark at the start of a text or after Han; now its leading
// mark is decided like any mark there, in Scan, in streams fed byte by byte and in batches.
TEST(Regressions, ACharacterThatBecomesAMarkThenALetterIsDecidedLikeAMark) {
  auto filter = fuzz::MustLoad(
      Filter::FromDictionaries({DictionarySource::Text(
          "lao.rules",
          "%format scriptqa-rules 1\n%default category ad_law\n%default severity block\n"
          "rule lao.am\n  literal 加\u0eb2\n  reason r\n")}),
      "lao.rules");
  const std::string lao_am = "\u0eb3";
  for (const std::string& text : {lao_am, "加" + lao_am, "\u200b" + lao_am + "x"}) {
    const std::string once = filter->Normalize(text);
    EXPECT_EQ(filter->Normalize(once), once) << fuzz::Hex(text);
    EXPECT_EQ(once.find("\u0ecd"), std::string::npos) << fuzz::Hex(text) << " -> " << fuzz::Hex(once);
  }
  // After a Lao consonant the mark is kept, as in real Lao text.
  EXPECT_EQ(filter->Normalize("\u0e81" + lao_am), "\u0e81\u0ecd\u0eb2");
  // 加 + U+0EB3 reads 加 + U+0EB2 everywhere: the finding covers both characters.
  const std::string text = "请加" + lao_am + "\u0301好";
  auto scanner = Scanner::Create(filter);
  ASSERT_TRUE(scanner.ok());
  auto block = scanner->Scan(text);
  ASSERT_TRUE(block.ok()) << block.status();
  ASSERT_EQ(block->size(), 1u) << fuzz::Describe(*block);
  EXPECT_EQ((*block)[0].text, "加" + lao_am);
  for (size_t chunk : {1, 2, 5}) {
    std::vector<Finding> streamed = Stream(filter, text, chunk, Overlap::kLongestPerCategory);
    ASSERT_EQ(streamed.size(), 1u) << "chunks of " << chunk;
    EXPECT_EQ(KeyOf(streamed[0]), KeyOf((*block)[0])) << "chunks of " << chunk;
  }
  std::vector<std::string_view> batch = {text, lao_am, text};
  auto batched = scanner->ScanBatch(batch);
  ASSERT_TRUE(batched.ok()) << batched.status();
  ASSERT_EQ(batched->size(), 3u);
  EXPECT_TRUE((*batched)[1].empty()) << fuzz::Describe((*batched)[1]);
  for (size_t i : {0, 2}) {
    ASSERT_EQ((*batched)[i].size(), 1u) << i << ": " << fuzz::Describe((*batched)[i]);
    EXPECT_EQ(KeyOf((*batched)[i][0]), KeyOf((*block)[0])) << i;
  }
}

// Found by the scan target (regressions/scan/rewrite_mask_joins_neighbours): Rewrite's last
// round masked a finding with '*', and the mask (noise) joined "我的q", noise and the "q" before
// it into a new off_platform.qq finding, so Rewrite gave up with clean = false. Masking now goes
// on until nothing block/review is left.
TEST(Regressions, RewriteMasksUntilNoFindingIsLeft) {
  const std::string input = fuzz::ReadFile(std::string(SCRIPTQA_FUZZ_REGRESSIONS_DIR) +
                                           "/scan/rewrite_mask_joins_neighbours");
  ASSERT_GT(input.size(), 1u);
  const std::string text = input.substr(1);  // byte 0 selects the default packs
  auto scanner = Scanner::Create(fuzz::DefaultFilter());
  ASSERT_TRUE(scanner.ok());
  auto rw = scanner->Rewrite(text);
  ASSERT_TRUE(rw.ok()) << rw.status();
  EXPECT_TRUE(rw->clean);
  auto left = scanner->HasFinding(rw->text, Severity::kReview);
  ASSERT_TRUE(left.ok());
  EXPECT_FALSE(*left) << fuzz::Describe(*scanner->Scan(rw->text));
  // The masks only replace: the text outside the findings is kept, the clean start above all.
  EXPECT_EQ(rw->text.substr(0, 3), text.substr(0, 3));
}

// Found by the compile target (regressions/compile/rewrite_suggestion_holds_its_term): a
// suggestion that holds its own term ("2" -> "22…2") multiplied the text in each of Rewrite's
// three suggestion rounds (a 382-byte dictionary: 23 GB, killed by the kernel). A suggestion
// round whose result would pass MaxRewriteBytes (4x + 4 KiB) masks instead. Run in a child with a
// 2 GiB address-space limit (not under ASan, whose shadow memory needs more), so that a
// regression fails here instead of exhausting the machine.
std::string Repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(Regressions, RewriteOfSuggestionsHoldingTheirTermStaysWithinFourTimesTheMessage) {
  auto filter = fuzz::MustLoad(
      Filter::FromDictionaries({DictionarySource::Text(
          "grow.rules",
          "%format scriptqa-rules 1\n%default category ad_law\n%default severity block\n"
          "rule grow.two\n  literal 嗯\n  suggest " + Repeat("嗯", 100) + "\n  reason r\n"
          "rule grow.praise\n  literal 好评\n  suggest <{match}{match}{match}>\n  reason r\n")}),
      "grow.rules");
  // 好评 -> <好评好评好评> three times (27 of them), then each masked.
  std::string grown = "好评";
  for (int round = 0; round < 3; ++round)
    grown = absl::StrReplaceAll(grown, {{"好评", "<好评好评好评>"}});
  struct Case {
    std::string message, want;
  };
  const std::vector<Case> cases = {
      // 100 嗯 fit 4 x 3 + 4 KiB; the second round (10,000) would not: masked. (A CJK term: a
      // term of digits is not read inside a longer number, so "2" in "22…2" finds nothing.)
      {"嗯", std::string(100, '*')},
      // 1,000 嗯: neighbouring findings with the same suggestion and nothing between them are
      // one replacement (Scanner::Rewrite), so the first round gives 100, not 100,000; they are
      // replaced the same way again, then masked.
      {Repeat("嗯", 1000), std::string(100, '*')},
      // Suggestions that grow but fit are applied as before, then masked (the result still
      // holds 好评); the text outside the findings is kept.
      {"买好评", "买" + absl::StrReplaceAll(grown, {{"好评", "**"}})},
  };
  EXPECT_EQ(fuzz::RunInBoundedChild([&] {
              auto scanner = Scanner::Create(filter);
              if (!scanner.ok()) return 2;
              for (size_t k = 0; k < cases.size(); ++k) {
                const Case& c = cases[k];
                auto rw = scanner->Rewrite(c.message);
                if (!rw.ok()) {
                  fprintf(stderr, "case %zu: %s\n", k, std::string(rw.status().message()).c_str());
                  return 1;
                }
                if (rw->text.size() > MaxRewriteBytes(c.message.size()) || !rw->clean ||
                    rw->text != c.want) {
                  fprintf(stderr, "case %zu: %zu bytes, clean %d: %s\n", k, rw->text.size(),
                          rw->clean, rw->text.substr(0, 200).c_str());
                  return 1;
                }
              }
              return 0;
            }),
            "")
      << " (1: a case failed, on stderr above; 2: no scanner; a signal: out of memory)";
}

}  // namespace
}  // namespace scriptqa
