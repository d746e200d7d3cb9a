// Scanner::ScanBatch: the same findings as Scan() on each message, whatever the batch looks like.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "scriptqa/scanner.h"
#include "test_util.h"

namespace scriptqa {
namespace {

using testing::PrintableBytes;

// What a finding says, as a comparable string.
std::string Describe(const Finding& f) {
  return absl::StrCat(std::string(f.rule_id()), " ", std::string(SeverityName(f.severity)), " [", f.bytes.begin, ",",
                      f.bytes.end, ") chars [", f.chars.begin, ",", f.chars.end, ") ",
                      std::string(f.text));
}

std::vector<std::string> DescribeAll(absl::Span<const Finding> fs) {
  std::vector<std::string> out;
  for (const Finding& f : fs) out.push_back(Describe(f));
  return out;
}

struct Outcome {
  absl::StatusCode code = absl::StatusCode::kOk;
  std::vector<std::string> findings;
  bool seen = false;
};

// Scans `texts` with ScanBatch and checks every message against Scan().
void ExpectBatchEqualsSingle(const std::shared_ptr<const Filter>& filter,
                             const std::vector<std::string>& texts,
                             const ScanOptions& options = {}) {
  auto batch_scanner = Scanner::Create(filter);
  auto single_scanner = Scanner::Create(filter);
  ASSERT_TRUE(batch_scanner.ok() && single_scanner.ok());
  std::vector<std::string_view> views(texts.begin(), texts.end());
  std::vector<Outcome> got(texts.size());
  size_t calls = 0, next = 0;
  absl::Status st = batch_scanner->ScanBatch(
      views, options, [&](size_t i, const absl::Status& s, absl::Span<const Finding> fs) {
        ++calls;
        ASSERT_EQ(i, next++) << "messages must be reported once each, in order";
        got[i].seen = true;
        got[i].code = s.code();
        got[i].findings = DescribeAll(fs);
      });
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_EQ(calls, texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    auto want = single_scanner->Scan(texts[i], options);
    ASSERT_EQ(got[i].code, want.status().code()) << i << ": " << PrintableBytes(texts[i]);
    if (!want.ok()) continue;
    ASSERT_EQ(got[i].findings, DescribeAll(*want)) << i << ": " << PrintableBytes(texts[i]);
  }
}

std::vector<std::string> SampleMessages() {
  std::vector<std::string> m = testing::CorpusAgentMessages();
  for (const std::string& line : testing::SplitLines(testing::ReadFileOrDie(
           std::string(SCRIPTQA_DICTIONARY_DIR) + "/../bench/data/synthetic_messages.txt")))
    if (!line.empty() && line[0] != '#') m.push_back(line);
  return m;
}

TEST(ScanBatch, DefaultPacksAgreeWithScanOnRealAndSyntheticMessages) {
  auto filter = testing::DefaultFilter();
  std::vector<std::string> msgs = SampleMessages();
  ASSERT_GT(msgs.size(), 50u);
  ExpectBatchEqualsSingle(filter, msgs);
  ScanOptions all;
  all.overlap = Overlap::kAll;
  ExpectBatchEqualsSingle(filter, msgs, all);
}

// Messages of 256 bytes and more get their offset map as the batch normalises them and are
// confirmed from it (lib/scanner.cc, kBatchMapBytes); shorter ones are normalised again. Long
// messages with many hits, joined from the sample messages, and a mix of both lengths in one
// batch must agree with Scan.
TEST(ScanBatch, LongMessagesAgreeWithScan) {
  auto filter = testing::DefaultFilter();
  const std::vector<std::string> sample = SampleMessages();
  ASSERT_GT(sample.size(), 50u);
  std::mt19937 rng(17);
  std::vector<std::string> msgs;
  size_t next = 0;
  for (int i = 0; i < 400; ++i) {
    const size_t target = i % 3 == 0 ? rng() % 200 : 200 + rng() % 5000;
    std::string m;
    while (m.size() < target) {
      m += sample[next++ % sample.size()];
      m += i % 2 ? "，" : "\n";
    }
    msgs.push_back(std::move(m));
  }
  ExpectBatchEqualsSingle(filter, msgs);
  ScanOptions all;
  all.overlap = Overlap::kAll;
  ExpectBatchEqualsSingle(filter, msgs, all);
}

// Hits placed at every position relative to message boundaries: split terms, terms at the very
// start and end, empty messages, noise-only messages, invalid UTF-8, several batch buffers.
TEST(ScanBatch, RandomMessagesAroundBoundariesAgreeWithScan) {
  auto filter = testing::DefaultFilter();
  const std::vector<std::string> pieces = {
      "加微信", "加", "微信", "vx", "wx123456", "abc123", "最佳", "第一", "第一时间", "13812345678",
      "138", "12345678", "，", " ", "\n", "😀", "\xff", "\xe4\xb8", "這", "ＱＱ", "１２３",
      "我不清楚", "不知道", "返现5元", "好评", "0755-12345678", "110105194912310021", "@", "qq.com",
      "亲", "您好", "路12号", "3号楼2单元301室", "一三八一二三四五六七八"};
  std::mt19937 rng(7);
  std::vector<std::string> msgs;
  for (int i = 0; i < 6000; ++i) {
    std::string m;
    const size_t n = rng() % 8;
    for (size_t k = 0; k < n; ++k) m += pieces[rng() % pieces.size()];
    if (rng() % 50 == 0) m = std::string(70000 + rng() % 1000, 'a') + m;  // beyond one buffer
    msgs.push_back(m);
  }
  ExpectBatchEqualsSingle(filter, msgs);
}

// A regex that can match the separator (and anything else) must not match across messages,
// and matches inside messages must all be found.
TEST(ScanBatch, RegexesDoNotMatchAcrossMessages) {
  auto filter = testing::FilterFromText(
      "%format scriptqa-rules 1\n%default category off_platform\n%default severity block\n"
      "rule t.any\n  regex 加[^b]{0,3}信\n  reason r\n"
      "rule t.digits\n  regex [0-9]{6}\n  reason r\n");
  const std::vector<std::string> msgs = {"加", "信", "12", "3456", "123", "456", "加x信", "加\n信",
                                         "x加", "信x", "654321"};
  ExpectBatchEqualsSingle(filter, msgs);
  auto scanner = Scanner::Create(filter);
  ASSERT_TRUE(scanner.ok());
  std::vector<std::string_view> views(msgs.begin(), msgs.end());
  auto all = scanner->ScanBatch(views);
  ASSERT_TRUE(all.ok()) << all.status();
  std::vector<size_t> with_findings;
  for (size_t i = 0; i < all->size(); ++i)
    if (!(*all)[i].empty()) with_findings.push_back(i);
  EXPECT_EQ(with_findings, (std::vector<size_t>{6, 7, 10}));
}

// Anchored regexes depend on where the data begins: such filters are scanned message by message.
TEST(ScanBatch, AnchoredRegexesStillMatchAtEachMessageStart) {
  auto filter = testing::FilterFromText(
      "%format scriptqa-rules 1\n%default category off_platform\n%default severity block\n"
      "rule t.start\n  regex ^加微信\n  reason r\n"
      "rule t.end\n  regex 私聊$\n  reason r\n");
  const std::vector<std::string> msgs = {"加微信吧", "你好", "加微信", "来私聊", "私聊一下", "x加微信"};
  ExpectBatchEqualsSingle(filter, msgs);
  auto scanner = Scanner::Create(filter);
  std::vector<std::string_view> views(msgs.begin(), msgs.end());
  auto all = scanner->ScanBatch(views);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ((*all)[0].size(), 1u);
  EXPECT_EQ((*all)[2].size(), 1u);
  EXPECT_EQ((*all)[3].size(), 1u);
  EXPECT_TRUE((*all)[4].empty());
  EXPECT_TRUE((*all)[5].empty());
}

TEST(ScanBatch, PerMessageErrorsDoNotStopTheBatch) {
  auto filter = testing::DefaultFilter();
  std::string expanding;
  for (int i = 0; i < 40000; ++i) expanding += "\xef\xb7\xba";  // U+FDFA: 3 bytes -> 33
  const std::vector<std::string> msgs = {"加微信", "bad \xff byte 加微信", expanding + "加微信",
                                         "最低价"};
  ScanOptions reject;
  reject.invalid_utf8 = InvalidUtf8::kReject;
  ExpectBatchEqualsSingle(filter, msgs, reject);
  auto scanner = Scanner::Create(filter);
  std::vector<std::string_view> views(msgs.begin(), msgs.end());
  std::vector<absl::StatusCode> codes;
  std::vector<size_t> counts;
  ASSERT_TRUE(scanner
                  ->ScanBatch(views, reject,
                              [&](size_t, const absl::Status& s, absl::Span<const Finding> fs) {
                                codes.push_back(s.code());
                                counts.push_back(fs.size());
                              })
                  .ok());
  EXPECT_EQ(codes, (std::vector<absl::StatusCode>{
                       absl::StatusCode::kOk, absl::StatusCode::kInvalidArgument,
                       absl::StatusCode::kResourceExhausted, absl::StatusCode::kOk}));
  EXPECT_EQ(counts[0], 1u);
  EXPECT_EQ(counts[3], 1u);
  // The vector form names the first failing message.
  auto all = scanner->ScanBatch(views, reject);
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(all.status().message().find("message 1: invalid UTF-8 at byte 4"),
            std::string_view::npos)
      << all.status();
}

TEST(ScanBatch, ProfilesApplyAndMustComeFromTheSameFilter) {
  auto filter = testing::DefaultFilter();
  ProfileOptions po;
  po.deny_terms = {"竞品"};
  po.disabled = {"ad_law"};
  auto profile = Profile::Create(filter, po);
  ASSERT_TRUE(profile.ok()) << profile.status();
  ScanOptions o;
  o.profile = profile->get();
  const std::vector<std::string> msgs = {"比竞品好", "全网最低价", "竞", "品", "加微信"};
  ExpectBatchEqualsSingle(filter, msgs, o);

  auto other = testing::FilterFromText(
      "%format scriptqa-rules 1\n%default category ad_law\n%default severity review\n"
      "rule a.x\n  literal 顶级\n  reason r\n");
  auto scanner = Scanner::Create(other);
  std::vector<std::string_view> views(msgs.begin(), msgs.end());
  size_t calls = 0;
  absl::Status st = scanner->ScanBatch(
      views, o, [&](size_t, const absl::Status&, absl::Span<const Finding>) { ++calls; });
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(calls, 0u);
}

TEST(ScanBatch, ReentrantUseFromTheCallbackIsRefused) {
  auto filter = testing::DefaultFilter();
  auto scanner = Scanner::Create(filter);
  const std::vector<std::string_view> views = {"加微信", "你好"};
  std::vector<absl::StatusCode> inner;
  ASSERT_TRUE(scanner
                  ->ScanBatch(views, {},
                              [&](size_t, const absl::Status&, absl::Span<const Finding>) {
                                inner.push_back(scanner->Scan("加微信").status().code());
                              })
                  .ok());
  EXPECT_EQ(inner, (std::vector<absl::StatusCode>{absl::StatusCode::kFailedPrecondition,
                                                  absl::StatusCode::kFailedPrecondition}));
}

TEST(ScanBatch, EmptyBatchAndEmptyMessages) {
  auto filter = testing::DefaultFilter();
  auto scanner = Scanner::Create(filter);
  auto none = scanner->ScanBatch(absl::Span<const std::string_view>());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  ExpectBatchEqualsSingle(filter, {"", "", "加微信", "", "，。！ "});
}

}  // namespace
}  // namespace scriptqa
