// Conversation QA (scriptqa/conversation.h): times, the scorecard format, each check on
// conversations built so that the expected result follows from the construction, ordering,
// summaries (pandas' percentiles, merging in any order) and the grouping loop.
#include "scriptqa/conversation.h"

#include <algorithm>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include "scriptqa/filter.h"
#include "scriptqa/scanner.h"
#include "test_util.h"

namespace scriptqa {
namespace {

constexpr char kDir[] = SCRIPTQA_DICTIONARY_DIR;

std::shared_ptr<const Scorecard> Card() {
  static std::shared_ptr<const Scorecard> card = [] {
    auto c = Scorecard::FromFile(std::string(kDir) + "/default.scorecard");
    EXPECT_TRUE(c.ok()) << c.status();
    return *c;
  }();
  return card;
}

std::shared_ptr<const Filter> DefaultFilter() { return testing::DefaultFilter(); }

// A scorecard from text, with the shipped cues.
absl::StatusOr<std::shared_ptr<const Scorecard>> CardText(const std::string& body) {
  return Scorecard::FromText("%format scriptqa-scorecard 1\ncues conversation.cues\n" + body, "t.scorecard", kDir);
}

struct M {
  Role role;
  std::string text;
  int64_t t = kNoTime;  // seconds
  int64_t number = kNoTurnNumber;
  std::string agent = "A";
};
M C(std::string text, int64_t t = kNoTime) { return {Role::kCustomer, std::move(text), t}; }
M A(std::string text, int64_t t = kNoTime) { return {Role::kAgent, std::move(text), t}; }

ConversationResult Score(const std::vector<M>& ms, std::shared_ptr<const Scorecard> card = Card(),
                       const std::vector<std::vector<Finding>>& findings = {}) {
  auto analyzer = TurnAnalyzer::Create(card, TurnOptions{true, true});
  EXPECT_TRUE(analyzer.ok());
  Conversation conv(card, "c");
  for (size_t i = 0; i < ms.size(); ++i) {
    Message m{ms[i].role, ms[i].text, ms[i].t == kNoTime ? kNoTime : 1750000000000 + ms[i].t * 1000,
              ms[i].number, ms[i].role == Role::kAgent ? std::string_view(ms[i].agent) : "", "s1"};
    if (i < findings.size()) m.findings = findings[i];
    Turn t;
    EXPECT_TRUE(analyzer->Analyze(m, &t).ok());
    conv.Add(std::move(t));
  }
  return conv.Score();
}

int Points(const ConversationResult& r, Check c) {
  int p = 0;
  for (const Deduction& d : r.deductions) p += d.check == c ? d.points : 0;
  return p;
}

// ---------------------------------------------------------------- times

TEST(Timestamp, FormatsExportsUse) {
  EXPECT_EQ(*ParseTimestamp("1750000000"), 1750000000000);
  EXPECT_EQ(*ParseTimestamp("1750000000123"), 1750000000123);  // milliseconds
  EXPECT_EQ(*ParseTimestamp("1750000000.5"), 1750000000500);
  EXPECT_EQ(*ParseTimestamp("2025-06-18T09:00:00+08:00"), 1750208400000);
  EXPECT_EQ(*ParseTimestamp("2025-06-18 01:00:00Z"), 1750208400000);
  EXPECT_EQ(*ParseTimestamp(" 2025-06-18t01:00:00.250+0000 "), 1750208400250);
  EXPECT_EQ(*ParseTimestamp("2025-06-18T01:00"), 1750208400000);  // no zone: UTC
  EXPECT_EQ(*ParseTimestamp("2025-06-18 09:00:00", *ParseTimeZone("+08:00")), 1750208400000);
  EXPECT_EQ(*ParseTimestamp("2025-06-18"), 1750204800000);
  EXPECT_EQ(*ParseTimestamp("1960-01-01T00:00:00Z"), -315619200000);
  for (const char* bad : {"", "abc", "2025-02-30T00:00:00Z", "2025-06-18T09:00:00+08:00x", "1.2.3",
                          "2025-06-18T25:00", "-5", "1e20"})
    EXPECT_FALSE(ParseTimestamp(bad).ok()) << bad;
  EXPECT_FALSE(ParseTimeZone("+25:00").ok());
  EXPECT_FALSE(ParseTimeZone("Mars/Olympus").ok());
  EXPECT_TRUE(ParseTimeZone("UTC+8").ok());
}

// ---------------------------------------------------------------- the scorecard

TEST(ScorecardFile, DefaultLoadsWithTheStandardsFigures) {
  const ScorecardSettings& s = Card()->settings();
  EXPECT_EQ(s[Check::kFirstResponse].limit_ms, 30000);
  EXPECT_EQ(s[Check::kReplyTime].limit_ms, 120000);
  EXPECT_EQ(s[Check::kReplyTime].promo_limit_ms, 180000);
  for (size_t i = 0; i < kCheckCount; ++i) EXPECT_TRUE(s.checks[i].enabled) << i;
  EXPECT_NE(Card()->cues_source().find("conversation.cues"), std::string::npos);
}

TEST(ScorecardFile, EveryProblemIsNamedWithItsLine) {
  auto bad = Scorecard::FromText(
      "%format scriptqa-scorecard 1\ncues conversation.cues\ncheck first_response\n  limit 0s\n  points 10\n"
      "check greeting\n  limit 30s\ncheck first_response\ncheck nonsense\n  points 3\npromotion 2025-13-01\n"
      "check findings\n  block 200\n",
      "x.scorecard", kDir);
  ASSERT_FALSE(bad.ok());
  const std::string m(bad.status().message());
  for (const char* want :
       {"x.scorecard:4: check first_response: limit must be a duration above 0",
        "x.scorecard:7: check greeting: 'limit' does not apply to it",
        "x.scorecard:8: check first_response given twice (first at line 3)",
        "x.scorecard:9: unknown check 'nonsense'", "x.scorecard:11: promotion: expected YYYY-MM-DD",
        "x.scorecard:13: check findings: block must be an integer from 0 to 100"})
    EXPECT_NE(m.find(want), std::string::npos) << want << "\n" << m;
  EXPECT_FALSE(Scorecard::FromText("check greeting\n", "y", kDir).ok());  // no %format
  auto no_cues = Scorecard::FromText("%format scriptqa-scorecard 1\ncues nowhere.cues\ncheck greeting\n  points 5\n", "z", kDir);
  EXPECT_EQ(no_cues.status().code(), absl::StatusCode::kNotFound);
  // Only timing checks: no cue file needed.
  auto timing = Scorecard::FromText("%format scriptqa-scorecard 1\ncheck first_response\n  limit 30\n  points 10\n", "w", kDir);
  ASSERT_TRUE(timing.ok()) << timing.status();
  ConversationResult r = Score({C("在吗", 0), A("您好", 40)}, *timing);
  EXPECT_EQ(r.score, 90);
  EXPECT_EQ(r.outcome(Check::kGreeting), Outcome::kOff);
}

TEST(ScorecardFile, CueFileExamplesHold) {
  // The shipped cue vocabulary's own hit and miss examples, as lint checks the rule packs.
  std::shared_ptr<const Filter> cues = Card()->cues();
  auto scanner = Scanner::Create(cues);
  ASSERT_TRUE(scanner.ok());
  size_t checked = 0;
  for (const Rule& rule : cues->rules()) {
    for (const std::string& hit : rule.hit_examples) {
      auto fs = scanner->Scan(hit, ScanOptions{Severity::kAdvice, Overlap::kAll});
      ASSERT_TRUE(fs.ok());
      EXPECT_TRUE(std::any_of(fs->begin(), fs->end(), [&](const Finding& f) { return f.rule == &rule; }))
          << rule.id << " misses " << hit;
      ++checked;
    }
    for (const std::string& miss : rule.miss_examples) {
      auto fs = scanner->Scan(miss, ScanOptions{Severity::kAdvice, Overlap::kAll});
      EXPECT_FALSE(std::any_of(fs->begin(), fs->end(), [&](const Finding& f) { return f.rule == &rule; }))
          << rule.id << " fires on " << miss;
      ++checked;
    }
  }
  EXPECT_GT(checked, 40u);
}

// ---------------------------------------------------------------- checks

TEST(Checks, ResponseTimesAgainstTheLimits) {
  ConversationResult r = Score({C("在吗", 0), A("您好，我是客服小安，请问有什么可以帮您？", 45), C("发货了吗", 60),
                              C("急", 90), A("已经发货了", 200), C("好的，怎么查物流", 210),
                              A("点订单详情就能看到，还有其他可以帮您的吗？", 230)});
  EXPECT_EQ(r.first_response_ms, 45000);
  EXPECT_EQ(r.reply_ms, (std::vector<int64_t>{140000, 20000}));  // measured from the run's first message
  EXPECT_EQ(r.replies_within, 1);
  EXPECT_EQ(r.longest_wait_ms, 140000);
  EXPECT_EQ(r.outcome(Check::kFirstResponse), Outcome::kFail);
  EXPECT_EQ(r.outcome(Check::kReplyTime), Outcome::kFail);
  EXPECT_EQ(r.outcome(Check::kLongestWait), Outcome::kPass);
  EXPECT_EQ(Points(r, Check::kFirstResponse), 10);
  EXPECT_EQ(Points(r, Check::kReplyTime), 5);
  ASSERT_FALSE(r.deductions.empty());
  EXPECT_EQ(r.deductions[0].turn, 1);
  EXPECT_EQ(r.deductions[0].detail, "first response after 45 s (limit 30 s)");
  EXPECT_EQ(r.score, 100 - 10 - 5);
  EXPECT_EQ(r.day, "2025-06-15");
  // A promotion day lifts the reply limit to 3 minutes.
  ScorecardSettings promo = Card()->settings();
  promo.promotion_days.push_back(DayRange{absl::CivilDay(2025, 6, 15), absl::CivilDay(2025, 6, 15)});
  ConversationResult p = Score({C("在吗", 0), A("您好，我是客服", 10), C("发货了吗", 20), A("发了", 160)},
                             *Card()->WithSettings(promo));
  EXPECT_TRUE(p.promotion);
  EXPECT_EQ(p.outcome(Check::kReplyTime), Outcome::kPass);
  // Without times nothing is timed, and nothing is judged.
  ConversationResult u = Score({C("在吗"), A("您好，我是客服")});
  EXPECT_EQ(u.outcome(Check::kFirstResponse), Outcome::kNotApplicable);
  EXPECT_EQ(u.untimed_replies, 1);
  EXPECT_EQ(u.day, "");
}

TEST(Checks, GreetingClosingAndUnanswered) {
  ConversationResult ok = Score({C("在吗"), A("您好，我是优品旗舰店客服小安"), C("谢谢"), A("不客气，祝您生活愉快"), C("好的")});
  EXPECT_EQ(ok.outcome(Check::kGreeting), Outcome::kPass);
  EXPECT_EQ(ok.outcome(Check::kClosing), Outcome::kPass);
  EXPECT_EQ(ok.outcome(Check::kUnanswered), Outcome::kPass);  // 好的 needs no answer
  EXPECT_EQ(ok.score, 100);
  ConversationResult bad = Score({C("在吗"), A("有什么问题我可以帮您处理呢"), C("这个什么时候发货？")});
  EXPECT_EQ(bad.outcome(Check::kGreeting), Outcome::kFail);
  EXPECT_EQ(bad.outcome(Check::kClosing), Outcome::kFail);
  EXPECT_EQ(bad.outcome(Check::kUnanswered), Outcome::kFail);
  EXPECT_EQ(bad.score, 100 - 5 - 5 - 10);
  const Deduction* unanswered = nullptr;
  for (const Deduction& d : bad.deductions) unanswered = d.check == Check::kUnanswered ? &d : unanswered;
  ASSERT_NE(unanswered, nullptr);
  EXPECT_EQ(unanswered->turn, 2);
  // The greeting counts only in the first agent message.
  EXPECT_EQ(Score({C("在吗"), A("在的"), A("您好，我是客服小安")}).outcome(Check::kGreeting), Outcome::kFail);
}

TEST(Checks, UpsetCustomerNeedsAnApologyAndANextStepWithATime) {
  auto upset = [](std::vector<M> ms) { return Score(ms).outcome(Check::kUpset); };
  const M hi = A("您好，我是客服小安");
  EXPECT_EQ(upset({C("在吗"), hi, C("三天了还不发货，我要投诉"), A("非常抱歉，我马上为您联系仓库")}), Outcome::kPass);
  EXPECT_EQ(upset({C("在吗"), hi, C("再不发货我就退款"), A("不好意思"), A("这个问题我核实一下，10分钟内给您答复")}),
            Outcome::kPass);  // within two agent messages
  // Hollow empathy alone, an apology without a time, a time without an apology: not enough.
  ConversationResult hollow = Score({C("在吗"), hi, C("你们就是骗子"), A("不好意思，给您带来不便了"), A("您再等等")});
  EXPECT_EQ(hollow.outcome(Check::kUpset), Outcome::kFail);
  bool named = false;
  for (const Deduction& d : hollow.deductions)
    named = named || (d.check == Check::kUpset && d.turn == 2 && d.detail.find("骗子") != std::string::npos &&
                      d.detail.find("only hollow empathy") != std::string::npos);
  EXPECT_TRUE(named);
  EXPECT_EQ(upset({C("在吗"), hi, C("再这样我就给差评！"), A("抱歉，我帮您看看")}), Outcome::kFail);
  // The same question again before any answer: impatience.
  EXPECT_EQ(upset({C("在吗"), hi, C("我的快递什么时候能到？"), C("我的快递什么时候能到？？"), A("我帮您看看")}),
            Outcome::kFail);
  EXPECT_EQ(upset({C("在吗"), hi, C("到底什么时候发货"), A("我马上为您催仓库")}), Outcome::kFail);
  EXPECT_EQ(upset({C("在吗"), hi, C("我要打12315"), A("好的"), A("好的"), A("非常抱歉，我马上为您处理")}),
            Outcome::kFail);  // too late
  // Exclamation runs upset, unless the customer is thanking.
  EXPECT_EQ(upset({C("在吗"), hi, C("怎么还没发货！！！"), A("好的")}), Outcome::kFail);
  EXPECT_EQ(upset({C("在吗"), hi, C("收到了谢谢！！！"), A("不客气")}), Outcome::kNotApplicable);
}

TEST(Checks, AQuestionAskedAgainAfterAnAnswer) {
  ConversationResult r = Score({C("我的快递什么时候能到？"), A("您好，我是客服小安"), A("预计明天送达"),
                              C("我的快递到底什么时候能到？"), A("抱歉，我马上为您催促站点")});
  EXPECT_EQ(r.outcome(Check::kRepeatQuestion), Outcome::kFail);
  EXPECT_EQ(Points(r, Check::kRepeatQuestion), 5);
  EXPECT_EQ(r.outcome(Check::kUpset), Outcome::kPass);  // a repeat upsets; the answer calmed it
  EXPECT_EQ(Score({C("我的快递什么时候能到？"), A("您好，我是客服，明天到"), C("那退货怎么申请呢？")}).outcome(Check::kRepeatQuestion),
            Outcome::kPass);
  // Restating the question after the agent asked something back, or after the opening greeting,
  // is no repeat.
  EXPECT_EQ(Score({C("我的快递什么时候能到？"), A("您好，有什么可以帮您？"), C("我的快递什么时候能到呢")}).outcome(Check::kRepeatQuestion),
            Outcome::kPass);
  EXPECT_EQ(Score({C("我的快递什么时候能到？"), A("方便提供一下订单号码吗，我帮您查"), C("我的快递什么时候能到呢")})
                .outcome(Check::kRepeatQuestion),
            Outcome::kPass);
  EXPECT_EQ(Score({C("我的快递什么时候能到？"), A("您好，我是客服小安，很高兴为您服务"), C("我的快递什么时候能到呢")})
                .outcome(Check::kRepeatQuestion),
            Outcome::kPass);
}

TEST(Checks, FindingsBySeverityWithTheCap) {
  auto scanner = Scanner::Create(DefaultFilter());
  std::vector<std::string> texts = {"在吗", "您好，我是客服，这款是全网最低价，绝对不会坏", "加我薇信聊，私下转账便宜", "加我薇信"};
  std::vector<std::vector<Finding>> found(texts.size());
  for (size_t i = 1; i < texts.size(); ++i) found[i] = *scanner->Scan(texts[i]);
  std::vector<M> ms = {C(texts[0]), A(texts[1]), A(texts[2]), A(texts[3])};
  ConversationResult r = Score(ms, Card(), found);
  int sum = 0;
  for (const auto& fs : found)
    for (const Finding& f : fs) sum += Card()->check(Check::kFindings).severity_points[static_cast<size_t>(f.severity)];
  ASSERT_GT(sum, 60);
  EXPECT_EQ(Points(r, Check::kFindings), 60);  // the cap
  EXPECT_EQ(r.outcome(Check::kFindings), Outcome::kFail);
  EXPECT_EQ(r.findings[2] + r.findings[1] + r.findings[0], found[1].size() + found[2].size() + found[3].size());
  int total = 0;
  for (const Deduction& d : r.deductions) total += d.points;
  EXPECT_EQ(r.score, std::max(0, 100 - total));
}

TEST(Checks, TurnsOutOfOrderAndMissingTimes) {
  // Turn numbers decide the order when every message has one.
  std::vector<M> ms = {A("好的，已经发货了", 50), C("在吗", 0), A("您好，我是客服小安", 10), C("发货了吗", 20)};
  ms[0].number = 3, ms[1].number = 0, ms[2].number = 1, ms[3].number = 2;
  ConversationResult r = Score(ms);
  EXPECT_EQ(r.first_response_ms, 10000);
  EXPECT_EQ(r.reply_ms, (std::vector<int64_t>{30000}));
  EXPECT_EQ(r.outcome(Check::kGreeting), Outcome::kPass);
  // Else times; an untimed message stays after the one before it.
  ConversationResult t = Score({A("已经发货了", 50), C("在吗", 0), A("您好，我是客服小安"), C("发货了吗", 20)});
  EXPECT_EQ(t.outcome(Check::kGreeting), Outcome::kPass);  // order: 在吗, 您好…, 发货了吗, 已经发货了
  EXPECT_EQ(t.untimed_replies, 1);
  EXPECT_EQ(t.reply_ms, (std::vector<int64_t>{30000}));
  // Times that contradict the turn order are no wait.
  std::vector<M> back = {C("在吗", 100), A("您好，我是客服", 50)};
  back[0].number = 0, back[1].number = 1;
  EXPECT_EQ(Score(back).untimed_replies, 1);
}

TEST(Checks, PromisesAreListedWithTheirTurn) {
  ConversationResult r = Score({C("退货运费谁出？"), A("您好，我是客服，这个问题我需要和仓库核实一下，10分钟内给您答复可以吗？"), C("行")});
  ASSERT_EQ(r.promises.size(), 1u);
  EXPECT_EQ(r.promises[0].turn, 1);
  EXPECT_NE(r.promises[0].text.find("10分钟内给您答复"), std::string::npos) << r.promises[0].text;
}

// ---------------------------------------------------------------- summaries

TEST(Summary, PercentilesAsPandasComputesThem) {
  // Values and expectations from pandas 1.5: pd.Series(v).quantile(q).
  std::vector<double> v = {1, 2, 3, 4, 10};
  EXPECT_EQ(Quantile(v, 0.5), 3);
  EXPECT_EQ(Quantile(v, 0.9), 7.6000000000000005);
  EXPECT_EQ(Quantile(v, 0.1), 1.4);
  EXPECT_EQ(Quantile(std::vector<double>{5}, 0.9), 5);
  std::vector<double> w = {0.1, 0.7, 12.5, 30, 31};
  EXPECT_EQ(Quantile(w, 0.25), 0.7);
  EXPECT_EQ(Quantile(w, 0.75), 30);
  EXPECT_EQ(Quantile(w, 0.9), 30.6);
}

TEST(Summary, MergingPartsInAnyOrderGivesTheWhole) {
  std::mt19937 rng(7);
  std::vector<ConversationResult> results;
  const char* texts[] = {"您好，我是客服小安", "有什么可以帮您", "抱歉，我马上为您处理", "祝您生活愉快", "不知道"};
  for (int i = 0; i < 60; ++i) {
    std::vector<M> ms;
    int64_t t = i * 1000;
    for (int k = 0; k < 4; ++k) {
      ms.push_back(C(k == 1 ? "我要投诉" : "在吗", t));
      t += rng() % 200;
      ms.push_back(A(texts[rng() % 5], t));
      ms.back().agent = "agent" + std::to_string(rng() % 4);
      t += rng() % 50;
    }
    ConversationResult r = Score(ms);
    r.conversation_id = "c" + std::to_string(i);
    results.push_back(r);
  }
  ConversationSummary whole(Card());
  for (const ConversationResult& r : results) whole.Add(r);
  std::vector<size_t> idx(results.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::shuffle(idx.begin(), idx.end(), rng);
  ConversationSummary a(Card()), b(Card());
  for (size_t k = 0; k < idx.size(); ++k) (k % 3 ? a : b).Add(results[idx[k]]);
  auto b2 = ConversationSummary::Deserialize(Card(), b.Serialize());
  ASSERT_TRUE(b2.ok()) << b2.status();
  ASSERT_TRUE(b2->Merge(a).ok());
  EXPECT_EQ(b2->ToJson(), whole.ToJson());
  EXPECT_FALSE(ConversationSummary::Deserialize(Card(), "{\"format\":\"x\"}").ok());
  EXPECT_FALSE(ConversationSummary::Deserialize(Card(), "{\"format\":\"scriptqa-conversation-summary 1\",\"all\":3}").ok());
}

// ---------------------------------------------------------------- the grouping loop

TEST(Audit, ConversationsCloseWhenQuietAndInTheOrderTheyStarted) {
  AuditOptions options;
  options.close_after = 3;
  auto audit = ConversationAudit::Create(Card(), DefaultFilter(), options);
  ASSERT_TRUE(audit.ok());
  auto analyzer = TurnAnalyzer::Create(Card());
  std::vector<std::string> closed;
  auto add = [&](const std::string& id, Role role) {
    Turn t;
    ASSERT_TRUE(analyzer->Analyze(Message{role, role == Role::kAgent ? "您好，我是客服" : "在吗"}, &t).ok());
    audit->Add(id, std::move(t), [&](const ConversationResult& r) { closed.push_back(r.conversation_id); });
  };
  add("a", Role::kCustomer);
  add("b", Role::kCustomer);
  add("a", Role::kAgent);  // interleaved: still one conversation
  add("c", Role::kCustomer);
  add("d", Role::kCustomer);
  add("e", Role::kCustomer);  // three newer than a's last message
  add("a", Role::kAgent);     // a closed, then starts again
  audit->Finish([&](const ConversationResult& r) { closed.push_back(r.conversation_id); });
  EXPECT_EQ(closed, (std::vector<std::string>{"a", "b", "c", "d", "e", "a"}));
  EXPECT_EQ(audit->opened(), 6u);
  EXPECT_EQ(audit->summary().conversations(), 6u);
}

}  // namespace
}  // namespace scriptqa
