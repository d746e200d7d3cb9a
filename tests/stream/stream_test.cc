// StreamScanner against Scanner: random chunkings of the golden cases, the real corpus and
// generated evasions must end with exactly the block findings, never report a finding that the
// block scan does not give, and never release text that a later finding includes.
#include "scriptqa/stream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "scriptqa/scanner.h"
#include "test_util.h"

namespace scriptqa {
namespace {

std::string FromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

std::vector<std::string> GoldenTexts() {
  std::vector<std::string> out;
  for (const std::string& line : testing::SplitLines(
           testing::ReadFileOrDie(std::string(SCRIPTQA_TESTDATA_DIR) + "/golden.jsonl"))) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    out.push_back(j.contains("text_bytes_hex") ? FromHex(j["text_bytes_hex"])
                                               : j["text"].get<std::string>());
  }
  return out;
}

std::string Describe(const Finding& f) {
  return std::string(f.rule_id()) + "@" + std::to_string(f.bytes.begin) + "-" +
         std::to_string(f.bytes.end) + "/" + std::to_string(f.chars.begin) + "-" +
         std::to_string(f.chars.end) + ":" + std::string(SeverityName(f.severity)) + ":" +
         std::string(f.text);
}

std::vector<std::string> Describe(absl::Span<const Finding> fs) {
  std::vector<std::string> out;
  for (const Finding& f : fs) out.push_back(Describe(f));
  return out;
}

bool IsValidUtf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

// Cut points: random sizes of 1..max_chunk bytes, anywhere (also inside a UTF-8 character).
std::vector<std::string> RandomChunks(const std::string& text, std::mt19937* rng, size_t max_chunk) {
  std::vector<std::string> out;
  std::uniform_int_distribution<size_t> size(1, max_chunk);
  for (size_t pos = 0; pos < text.size();) {
    size_t n = std::min(size(*rng), text.size() - pos);
    out.push_back(text.substr(pos, n));
    pos += n;
  }
  return out;
}

// Feeds `chunks` and checks every promise of stream.h along the way. Returns false (after
// recording failures) when something is wrong.
void CheckStream(StreamScanner* stream, const std::vector<std::string>& chunks,
                 const std::string& text, const std::vector<Finding>& block,
                 const std::string& label) {
  SCOPED_TRACE(label);
  std::vector<std::string> expected = Describe(block);
  std::vector<std::string> early;
  size_t released = 0;
  const bool valid = IsValidUtf8(text);
  auto check_update = [&](const StreamUpdate& u) {
    for (const Finding& f : u.new_findings) {
      // Nothing of a finding has been released before it was reported.
      EXPECT_GE(f.bytes.begin, released) << Describe(f);
      early.push_back(Describe(f));
      EXPECT_NE(std::find(expected.begin(), expected.end(), Describe(f)), expected.end())
          << "reported a finding the block scan does not give: " << Describe(f);
    }
    EXPECT_GE(u.releasable, released);
    EXPECT_LE(u.releasable, stream->text().size());
    // Never inside a character of the message.
    if (valid && u.releasable > 0 && u.releasable < text.size())
      EXPECT_NE(static_cast<unsigned char>(text[u.releasable]) & 0xC0, 0x80)
          << "releasable " << u.releasable << " splits a character";
    released = u.releasable;
  };
  for (const std::string& c : chunks) {
    auto u = stream->Write(c);
    ASSERT_TRUE(u.ok()) << u.status();
    check_update(*u);
  }
  auto last = stream->Finish();
  ASSERT_TRUE(last.ok()) << last.status();
  check_update(*last);
  EXPECT_TRUE(last->finished);
  EXPECT_EQ(last->releasable, text.size());
  EXPECT_EQ(stream->text(), text);
  EXPECT_EQ(Describe(stream->findings()), expected);
  // Each finding reported exactly once over the whole stream.
  std::vector<std::string> all = early;
  std::sort(all.begin(), all.end());
  std::vector<std::string> want = expected;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(all, want);
  for (size_t i = 0; i < block.size(); ++i) {
    EXPECT_EQ(stream->findings()[i].Suggestion(), block[i].Suggestion());
  }
}

struct Variant {
  std::string name;
  StreamOptions options;
};

std::vector<Variant> Variants(const std::shared_ptr<const Profile>& profile) {
  std::vector<Variant> v;
  for (size_t batch : {0, 5, 24, 64}) {
    Variant x;
    x.name = "batch" + std::to_string(batch);
    x.options.min_scan_bytes = batch;
    v.push_back(x);
  }
  Variant all;
  all.name = "overlap_all";
  all.options.min_scan_bytes = 3;
  all.options.scan.overlap = Overlap::kAll;
  v.push_back(all);
  Variant review;
  review.name = "min_review";
  review.options.min_scan_bytes = 0;
  review.options.scan.min_severity = Severity::kReview;
  v.push_back(review);
  if (profile) {
    Variant shop;
    shop.name = "profile";
    shop.options.min_scan_bytes = 2;
    shop.options.scan.profile = profile.get();
    v.push_back(shop);
  }
  return v;
}

std::shared_ptr<const Profile> ShopProfile(const std::shared_ptr<const Filter>& filter) {
  ProfileOptions po;
  po.disabled = {"script_quality"};
  po.allow_terms = {"最好的服务", "第一时间为您处理"};
  po.deny_terms = {"拼多多", "淘宝店", "某宝"};
  po.severity_overrides = {{"review", Severity::kBlock}};
  auto p = Profile::Create(filter, po);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : nullptr;
}

void Differential(const std::shared_ptr<const Filter>& filter,
                  const std::vector<std::string>& messages, int chunkings, uint32_t seed) {
  auto profile = ShopProfile(filter);
  auto scanner = Scanner::Create(filter);
  ASSERT_TRUE(scanner.ok());
  std::mt19937 rng(seed);
  size_t compared = 0;
  for (const Variant& v : Variants(profile)) {
    auto stream = StreamScanner::Create(filter, v.options);
    ASSERT_TRUE(stream.ok()) << stream.status();
    for (size_t m = 0; m < messages.size(); ++m) {
      const std::string& text = messages[m];
      auto block = scanner->Scan(text, v.options.scan);
      ASSERT_TRUE(block.ok()) << block.status();
      for (int k = 0; k < chunkings; ++k) {
        const size_t max_chunk = k == 0 ? 1 : k == 1 ? text.size() + 1 : 1 + rng() % 24;
        stream->Reset();
        CheckStream(&*stream, RandomChunks(text, &rng, max_chunk), text, *block,
                    v.name + " message " + std::to_string(m) + " chunking " + std::to_string(k) +
                        ": " + text);
        ++compared;
        if (::testing::Test::HasFailure()) return;  // one clear failure is enough
      }
    }
  }
  EXPECT_GT(compared, 0u);
}

TEST(StreamDifferential, GoldenCasesAnyChunking) {
  std::vector<std::string> golden = GoldenTexts();
  ASSERT_GE(golden.size(), 20u);
  Differential(testing::DefaultFilter(), golden, 40, 1);
}

TEST(StreamDifferential, CorpusMessagesAnyChunking) {
  std::vector<std::string> corpus = testing::CorpusAgentMessages();
  if (corpus.empty()) {
    // Without the corpus (it is not part of the repository) the golden cases still run above;
    // this test then checks the rule packs' own examples instead, so it cannot pass vacuously.
    for (const Rule& r : testing::DefaultFilter()->rules()) {
      corpus.insert(corpus.end(), r.hit_examples.begin(), r.hit_examples.end());
      corpus.insert(corpus.end(), r.miss_examples.begin(), r.miss_examples.end());
    }
  }
  ASSERT_GT(corpus.size(), 50u);
  // Every message with a finding or a raw hit, and a sample of the others.
  auto scanner = Scanner::Create(testing::DefaultFilter());
  ASSERT_TRUE(scanner.ok());
  std::vector<std::string> chosen;
  for (size_t i = 0; i < corpus.size(); ++i) {
    auto e = scanner->Explain(corpus[i]);
    ASSERT_TRUE(e.ok());
    if (!e->traces.empty() || i % 10 == 0) chosen.push_back(corpus[i]);
  }
  Differential(testing::DefaultFilter(), chosen, 3, 2);
}

TEST(StreamDifferential, RuleExamplesAnyChunking) {
  std::vector<std::string> examples;
  for (const Rule& r : testing::DefaultFilter()->rules()) {
    examples.insert(examples.end(), r.hit_examples.begin(), r.hit_examples.end());
    examples.insert(examples.end(), r.miss_examples.begin(), r.miss_examples.end());
  }
  Differential(testing::DefaultFilter(), examples, 6, 3);
}

// The texts of the labelled evaluation sets (tests/quality/*.jsonl): messages nobody wrote for a
// rule, with hits of several rules in one message.
std::vector<std::string> EvaluationTexts() {
  std::vector<std::string> out;
  for (const char* name : {"dev", "test", "claims"}) {
    for (const std::string& line : testing::SplitLines(testing::ReadFileOrDie(
             std::string(SCRIPTQA_DICTIONARY_DIR) + "/../tests/quality/" + name + ".jsonl"))) {
      auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.contains("text")) out.push_back(j.value("text", ""));
    }
  }
  return out;
}

// The block scan keeps the occurrences its checks found for the next hits of the message
// (lib/term_index.h, TermOccurrences): it reuses a walked region, widens it on either side or
// starts afresh far from it, and hits on the same words share their scopes. The stream looks
// each window up afresh. Both must decide every hit alike: in every evaluation message, and in
// long messages where many rules hit in several places.
TEST(StreamDifferential, EvaluationMessages) {
  std::vector<std::string> texts = EvaluationTexts();
  ASSERT_GT(texts.size(), 3000u);
  Differential(testing::DefaultFilter(), texts, 1, 13);
}

TEST(StreamDifferential, LongMessagesWhereManyRulesHit) {
  std::vector<std::string> examples = EvaluationTexts();
  for (const Rule& r : testing::DefaultFilter()->rules()) {
    examples.insert(examples.end(), r.hit_examples.begin(), r.hit_examples.end());
    examples.insert(examples.end(), r.miss_examples.begin(), r.miss_examples.end());
  }
  ASSERT_GT(examples.size(), 3500u);
  static const char* const kJoins[] = {"，", "。", "", " ", "\n", "？", "好的，"};
  std::mt19937 rng(11);
  std::vector<std::string> messages;
  for (int m = 0; m < 24; ++m) {
    std::string text;
    const size_t target = 512 + rng() % 3584;  // 0.5 to 4 KiB
    while (text.size() < target) {
      text += examples[rng() % examples.size()];
      text += kJoins[rng() % (sizeof(kJoins) / sizeof(kJoins[0]))];
    }
    messages.push_back(std::move(text));
  }
  Differential(testing::DefaultFilter(), messages, 2, 12);
}

// Random messages built from pattern fragments, noise, digits, ASCII letters, clause breaks,
// repeats and invalid bytes: the cases a hand-written list misses.
std::vector<std::string> Generated(size_t count, uint32_t seed) {
  static const std::vector<std::string> pieces = {
      "最", "最好", "最佳", "第一", "第一时间", "全网最低", "绝对", "不会坏", "微信", "薇信", "V信",
      "vx", "加", "我", "wx", "qq", "扣扣", "好评", "返现", "返", "5", "元", "不知道", "你自己看",
      "详情页", "不能", "，", "。", " ", "-", "！", "\xE2\x80\x8B", "138", "0013", "8001",
      "38001380000", "@", "abc", "com", "test", "号", "路", "12", "单元", "\xFF", "\xE4\xB8",
      "a", "Z", "１", "①", "絕對", "拼多多", "淘宝店", "最好的服务", "第一时间为您处理", "亲",
      "您的满意是我们最大的动力", "加加", "微微", "信信", "一三八", "〇", "零", "幺"};
  std::mt19937 rng(seed);
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) {
    std::string s;
    size_t n = 1 + rng() % 24;
    for (size_t k = 0; k < n; ++k) s += pieces[rng() % pieces.size()];
    out.push_back(s);
  }
  return out;
}

TEST(StreamDifferential, GeneratedMessagesAnyChunking) {
  Differential(testing::DefaultFilter(), Generated(400, 4), 4, 5);
}

TEST(StreamDifferential, CollapseRepeatsAndNoNoiseSkipping) {
  // Normalisation options change how chunks splice: repeats collapse across chunk boundaries.
  for (bool collapse : {true, false}) {
    FilterOptions o;
    o.normalization.collapse_repeats = collapse;
    o.normalization.skip_noise = !collapse;
    std::vector<std::string> paths;
    for (const char* f : {"ad_law", "off_platform", "privacy", "review"})
      paths.push_back(std::string(SCRIPTQA_DICTIONARY_DIR) + "/" + f + ".rules");
    auto filter = Filter::FromFiles(paths, o);
    ASSERT_TRUE(filter.ok()) << filter.status();
    std::vector<std::string> msgs = Generated(200, collapse ? 6 : 7);
    msgs.push_back("加加加  微微微信信信吧吧");
    msgs.push_back("最最最佳佳的，加 V V 信信");
    Differential(*filter, msgs, 4, collapse ? 8 : 9);
  }
}

// Regexes the window matching has to treat specially: of unknown alphabet (.), unbounded, and
// anchored (^ $), which switch the regexes to the engine's streaming database.
TEST(StreamDifferential, UnusualRegexes) {
  const std::string base = R"(%format scriptqa-rules 1
%default category privacy
%default severity review
rule privacy.any
  regex 加.{0,3}微信
  reason r
rule privacy.unbounded
  regex vx[0-9a-z]{1,40}
  reason r
rule ad_law.lit
  category ad_law
  literal 最佳
  reason r
)";
  const std::string anchored = base + R"(rule privacy.anchored
  regex ^亲
  regex 吗$
  reason r
)";
  std::vector<std::string> msgs;
  std::mt19937 rng(11);
  const std::vector<std::string> pieces = {"加", "微信", "我", "vx", "123", "abc", "亲", "吗", "，",
                                           " ", "最佳", "好", "a", "\xE4\xB8"};
  for (int i = 0; i < 150; ++i) {
    std::string m;
    for (int k = 0, n = 1 + rng() % 16; k < n; ++k) m += pieces[rng() % pieces.size()];
    msgs.push_back(m);
  }
  msgs.push_back("亲，加个微信吧，vx12345678901234567890abc，好吗");
  for (const std::string* rules : {&base, &anchored}) {
    SCOPED_TRACE(rules == &base ? "window matching" : "streaming regex database");
    Differential(testing::FilterFromText(*rules), msgs, 5, 12);
  }
}

TEST(StreamDifferential, InvalidUtf8RejectedAtTheSameByte) {
  auto filter = testing::DefaultFilter();
  auto scanner = Scanner::Create(filter);
  ASSERT_TRUE(scanner.ok());
  StreamOptions so;
  so.scan.invalid_utf8 = InvalidUtf8::kReject;
  so.min_scan_bytes = 0;
  auto stream = StreamScanner::Create(filter, so);
  ASSERT_TRUE(stream.ok());
  std::mt19937 rng(10);
  for (const std::string& text : {std::string("最佳\xE4\xB8"), std::string("加\xFF微信"),
                                  std::string("\xE4\xB8\xAD\xE4"), std::string("ok\xC0\xAF")}) {
    auto block = scanner->Scan(text, so.scan);
    ASSERT_FALSE(block.ok());
    for (int k = 0; k < 10; ++k) {
      stream->Reset();
      absl::Status st;
      for (const std::string& c : RandomChunks(text, &rng, 3)) {
        auto u = stream->Write(c);
        if (!u.ok()) {
          st = u.status();
          break;
        }
      }
      if (st.ok()) {
        auto u = stream->Finish();
        st = u.status();
      }
      EXPECT_EQ(st, block.status()) << text;
      auto again = stream->Write("x");
      EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
    }
  }
}

// The holdback: without pending hits, text is released up to the longest literal (plus the batch
// and a partial character), not held until the end; the 84-byte e-mail regex does not hold back
// Chinese text.
TEST(StreamRelease, HoldbackIsBoundedByTheLongestPattern) {
  auto filter = testing::DefaultFilter();
  size_t longest = 0;
  for (const Rule& r : filter->rules())
    for (const std::string& l : r.literals) longest = std::max(longest, filter->Normalize(l).size());
  ASSERT_GT(longest, 0u);
  std::vector<std::string> msgs = testing::CorpusAgentMessages(3000);
  msgs.push_back("您好，请问有什么可以帮您？这边查询到您的订单已经发货了，预计明天下午送达，请注意查收。");
  auto scanner = Scanner::Create(filter);
  ASSERT_TRUE(scanner.ok());
  StreamOptions so;
  so.min_scan_bytes = 8;
  auto stream = StreamScanner::Create(filter, so);
  ASSERT_TRUE(stream.ok());
  size_t checked = 0;
  for (const std::string& text : msgs) {
    auto e = scanner->Explain(text);
    ASSERT_TRUE(e.ok());
    if (!e->traces.empty() || text.size() < 3 * longest) continue;
    // Only messages whose end is not ASCII letters/digits (regexes of e-mails and numbers may
    // hold those back by their own width).
    bool ascii_tail = false;
    for (size_t i = text.size() > 90 ? text.size() - 90 : 0; i < text.size(); ++i)
      ascii_tail |= std::isalnum(static_cast<unsigned char>(text[i])) != 0;
    if (ascii_tail) continue;
    stream->Reset();
    size_t worst = 0;
    for (size_t pos = 0; pos < text.size(); pos += 3) {
      auto u = stream->Write(text.substr(pos, 3));
      ASSERT_TRUE(u.ok());
      // Measured in normalised bytes: skipped noise characters do not count.
      worst = std::max(worst, filter->Normalize(stream->text().substr(u->releasable)).size());
    }
    // Longest literal minus one, the batch, and up to one character still arriving.
    EXPECT_LE(worst, longest - 1 + so.min_scan_bytes + 3) << text;
    ++checked;
  }
  EXPECT_GT(checked, 0u);
}

TEST(StreamRelease, FindingIsReportedBeforeTheEndOfALongMessage) {
  auto filter = testing::DefaultFilter();
  auto stream = StreamScanner::Create(filter);
  ASSERT_TRUE(stream.ok());
  const std::string head = "亲，这款是全网最低价哦，";
  const std::string tail = "这边给您备注好了，仓库今天下午统一安排发货，物流信息明天可以查到，请您耐心等待一下。";
  size_t at = 0;
  bool seen = false;
  for (const std::string& part : {head, tail, tail}) {
    for (size_t i = 0; i < part.size(); i += 3) {
      auto u = stream->Write(part.substr(i, 3));
      ASSERT_TRUE(u.ok());
      at += 3;
      for (const Finding& f : u->new_findings) {
        EXPECT_EQ(f.rule_id(), "ad_law.lowest_price");
        seen = true;
      }
      if (seen) break;
    }
    if (seen) break;
  }
  EXPECT_TRUE(seen) << "the finding should be certain long before the message ends";
  EXPECT_LT(at, head.size() + tail.size());
}

TEST(StreamApi, LifecycleAndErrors) {
  auto filter = testing::DefaultFilter();
  auto other = testing::FilterFromText(
      "%format scriptqa-rules 1\n%default category ad_law\n%default severity review\n"
      "rule ad_law.x\n  literal 最佳\n  reason r\n");
  auto foreign = Profile::Create(other, {});
  ASSERT_TRUE(foreign.ok());
  StreamOptions bad;
  bad.scan.profile = foreign->get();
  EXPECT_EQ(StreamScanner::Create(filter, bad).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StreamScanner::Create(nullptr).status().code(), absl::StatusCode::kInvalidArgument);

  auto stream = StreamScanner::Create(filter);
  ASSERT_TRUE(stream.ok());
  EXPECT_EQ(stream->Reset(bad).code(), absl::StatusCode::kInvalidArgument);
  auto done = stream->Finish();  // an empty message
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->finished);
  EXPECT_TRUE(done->new_findings.empty());
  EXPECT_EQ(stream->Write("x").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(stream->Finish().status().code(), absl::StatusCode::kFailedPrecondition);
  stream->Reset();
  ASSERT_TRUE(stream->Write("加微").ok());
  stream->Reset();  // discards an unfinished message: its engine state must not leak
  ASSERT_TRUE(stream->Write("信").ok());
  auto u = stream->Finish();
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(stream->findings().empty());
  EXPECT_EQ(stream->text(), "信");

  // A message started on one filter finishes on it even when the caller drops its reference.
  auto temp = testing::FilterFromText(
      "%format scriptqa-rules 1\n%default category ad_law\n%default severity review\n"
      "rule ad_law.y\n  literal 顶级\n  reason r\n");
  auto s2 = StreamScanner::Create(temp);
  ASSERT_TRUE(s2.ok());
  temp.reset();
  ASSERT_TRUE(s2->Write("这是顶").ok());
  auto end = s2->Write("级货");
  ASSERT_TRUE(end.ok());
  auto fin = s2->Finish();
  ASSERT_TRUE(fin.ok());
  ASSERT_EQ(s2->findings().size(), 1u);
  EXPECT_EQ(s2->findings()[0].text, "顶级");
}

TEST(StreamApi, FindingsStayValidWhileTheTextGrows) {
  auto stream = StreamScanner::Create(testing::DefaultFilter(), StreamOptions{{}, 0});
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE(stream->Write("亲，这款是全网最低价，").ok());
  std::string big(4096, 'a');
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(stream->Write("，" + big).ok());
  bool found = false;
  for (const Finding& f : stream->findings()) found |= f.text == "全网最低价";
  EXPECT_TRUE(found);
  ASSERT_TRUE(stream->Finish().ok());
}

// The context grammar (companions and exemptions in a clause or sentence, speech acts with cues
// after the hit, quotation marks and question marks read from the original text) decides hits
// only once the text that can change them has arrived: the stream's findings are still Scan's.
TEST(StreamDifferential, GrammarRulesAnyChunking) {
  auto filter = Filter::FromFiles({std::string(SCRIPTQA_TESTDATA_DIR) + "/grammar.rules"});
  ASSERT_TRUE(filter.ok()) << filter.status();
  const std::vector<std::string> messages = {
      "给个好评送您红包", "送您个红包，记得给好评哦", "给个好评哦，谢谢", "送您红包。给个好评哦",
      "这个我不知道", "这个我不知道，马上帮您问问仓库", "最便宜的时间是早上", "最便宜，这个时间下单",
      "我们没法保证是最便宜的", "说最好用是不允许的", "凡是好评返现的都是骗子",
      "您说的“最耐磨”我们不敢这么讲", "“好评返现”这种活动我们不做", "最便宜这个词广告法不让用",
      "您是想要最便宜的那款吗？", "您是想要最便宜的那款", "您是最耐磨的客户", "这款是“最耐磨”的",
      "没办法就这样吧", "没办法，就这样吧", "晒图返现", "晒图之后等您确认收货再返现",
      "这款 zui hao yong，给个hao ping送您红包！好评返现是骗人的吗？不知道。",
      "最好用的最便宜的最耐磨的，全省冠军同类第一"};
  Differential(*filter, messages, 12, 7);
}

}  // namespace
}  // namespace scriptqa
