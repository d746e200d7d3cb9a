// Evaluate() and the labelled JSONL format (include/scriptqa/evaluate.h), on a small rule file
// whose every outcome is known.
#include <gtest/gtest.h>

#include "scriptqa/evaluate.h"
#include "scriptqa/filter.h"

namespace scriptqa {
namespace {

constexpr char kRules[] = R"(%format scriptqa-rules 1
%default severity review
rule t.best
  category ad_law
  literal 最佳
  reason r
rule t.vx
  category off_platform
  severity block
  literal 加vx
  reason r
rule t.hint
  category script_quality
  severity advice
  literal 不行
  reason r
)";

std::shared_ptr<const Filter> TestFilter() {
  auto f = Filter::FromDictionaries({DictionarySource::Text("t.rules", kRules)});
  EXPECT_TRUE(f.ok()) << f.status();
  return *f;
}

TEST(LabelledJsonl, ParsesEveryKeyAndSkipsBlankLines) {
  auto cases = ParseLabelledJsonl(
      "{\"id\":\"a\",\"text\":\"这款最佳\",\"expect\":\"flag\",\"category\":\"ad_law\","
      "\"span\":[2,4],\"evasion\":\"homophone\",\"note\":\"ignored\"}\n"
      "\n"
      "{\"id\":7,\"text\":\"最快明天到\",\"expect\":\"pass\",\"category\":\"ad_law\",\"evasion\":\"none\"}\r\n",
      "x.jsonl");
  ASSERT_TRUE(cases.ok()) << cases.status();
  ASSERT_EQ(cases->size(), 2u);
  const LabelledMessage& a = (*cases)[0];
  EXPECT_EQ(a.id, "a");
  EXPECT_TRUE(a.flag);
  EXPECT_EQ(a.category, "ad_law");
  EXPECT_TRUE(a.has_span);
  EXPECT_EQ(a.span.begin, 2u);
  EXPECT_EQ(a.span.end, 4u);
  EXPECT_EQ(a.evasion, "homophone");
  EXPECT_EQ(a.line, 1u);
  const LabelledMessage& b = (*cases)[1];
  EXPECT_EQ(b.id, "7");
  EXPECT_FALSE(b.flag);
  EXPECT_EQ(b.evasion, "") << "\"none\" means no evasion";
  EXPECT_EQ(b.line, 3u);
}

TEST(LabelledJsonl, EveryProblemIsReportedWithItsLine) {
  auto cases = ParseLabelledJsonl(
      "not json\n"
      "[1]\n"
      "{\"expect\":\"flag\",\"category\":\"ad_law\"}\n"
      "{\"text\":\"x\",\"expect\":\"maybe\"}\n"
      "{\"text\":\"x\",\"expect\":\"flag\"}\n"
      "{\"text\":\"最佳\",\"expect\":\"flag\",\"category\":\"ad_law\",\"span\":[1,5]}\n"
      "{\"text\":\"最佳\",\"expect\":\"pass\",\"category\":3}\n",
      "bad.jsonl");
  ASSERT_FALSE(cases.ok());
  EXPECT_EQ(cases.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(cases.status().message());
  for (const char* want : {"bad.jsonl:1: not valid JSON", "bad.jsonl:2: not a JSON object",
                           "bad.jsonl:3: \"text\" is missing", "bad.jsonl:4: \"expect\" must be",
                           "bad.jsonl:5: a violation", "bad.jsonl:6: \"span\" [1, 5)",
                           "bad.jsonl:7: \"category\" is not a string"})
    EXPECT_NE(msg.find(want), std::string::npos) << want << "\n" << msg;
}

TEST(Evaluate, CountsEveryOutcome) {
  auto filter = TestFilter();
  auto scanner = Scanner::Create(filter);
  ASSERT_TRUE(scanner.ok());
  std::vector<LabelledMessage> cases(6);
  cases[0] = {"c", "这款是最佳选择", true, "ad_law", true, {3, 5}, "", 1};   // caught, span right
  cases[1] = {"m", "这款是最好的", true, "ad_law", false, {}, "", 2};        // missed
  cases[2] = {"w", "加vx详聊", true, "review", false, {}, "noise", 3};       // wrong category
  cases[3] = {"f", "最佳饮用时间", false, "ad_law", false, {}, "", 4};      // false alarm
  cases[4] = {"p", "这个不行", false, "script_quality", false, {}, "", 5};  // advice: not flagged
  cases[5] = {"q", "好的加vx", true, "off_platform", true, {0, 2}, "noise", 6};  // span elsewhere
  auto report = Evaluate(*scanner, cases);
  ASSERT_TRUE(report.ok()) << report.status();
  const EvalCounts& o = report->overall;
  EXPECT_EQ(o.flags, 4u);
  EXPECT_EQ(o.caught, 3u);
  EXPECT_EQ(o.category_right, 2u);
  EXPECT_EQ(o.with_span, 2u);
  EXPECT_EQ(o.span_right, 1u);
  EXPECT_EQ(o.passes, 2u);
  EXPECT_EQ(o.false_alarms, 1u);
  EXPECT_EQ(o.predicted, 4u);
  EXPECT_EQ(o.predicted_right, 3u);
  EXPECT_DOUBLE_EQ(o.recall(), 0.75);
  EXPECT_DOUBLE_EQ(o.false_alarm_rate(), 0.5);
  // Per category: ad_law has 2 violations (1 caught), 1 harmless (flagged), and was predicted on
  // 2 messages of which 1 is an ad_law violation.
  auto find = [&](const auto& v, const std::string& k) {
    for (const auto& [name, c] : v)
      if (name == k) return c;
    ADD_FAILURE() << "no " << k;
    return EvalCounts{};
  };
  EvalCounts ad = find(report->by_category, "ad_law");
  EXPECT_EQ(ad.flags, 2u);
  EXPECT_EQ(ad.caught, 1u);
  EXPECT_EQ(ad.passes, 1u);
  EXPECT_EQ(ad.false_alarms, 1u);
  EXPECT_EQ(ad.predicted, 2u);
  EXPECT_EQ(ad.predicted_right, 1u);
  EvalCounts op = find(report->by_category, "off_platform");
  EXPECT_EQ(op.predicted, 2u) << "加vx on two messages";
  EXPECT_EQ(op.predicted_right, 1u);
  EvalCounts noise = find(report->by_evasion, "noise");
  EXPECT_EQ(noise.flags, 2u);
  EXPECT_EQ(noise.caught, 2u);
  EXPECT_EQ(report->evasions.flags, 2u);
  // Problems in input order, with their outcome and findings.
  ASSERT_EQ(report->problems.size(), 3u);
  EXPECT_EQ(report->problems[0].outcome, EvalOutcome::kMissed);
  EXPECT_EQ(report->problems[0].index, 1u);
  EXPECT_EQ(report->problems[1].outcome, EvalOutcome::kWrongCategory);
  EXPECT_EQ(report->problems[2].outcome, EvalOutcome::kFalseAlarm);
  ASSERT_EQ(report->problems[2].findings.size(), 1u);
  EXPECT_EQ(report->problems[2].findings[0].rule, "t.best");
  EXPECT_EQ(report->problems[2].findings[0].matched, "最佳");
  // Rules: t.vx flagged one off_platform violation and one review-labelled one.
  bool saw_vx = false;
  for (const RuleCounts& r : report->by_rule) {
    if (r.rule != "t.vx") continue;
    saw_vx = true;
    EXPECT_EQ(r.true_flags, 1u);
    EXPECT_EQ(r.false_flags, 1u);
  }
  EXPECT_TRUE(saw_vx);
  // The text and JSON reports name the problems.
  std::string text = report->ToString(cases);
  EXPECT_NE(text.find("missed (1)"), std::string::npos) << text;
  EXPECT_NE(text.find("这款是最好的"), std::string::npos) << text;
  std::string json = report->ToJson(cases);
  EXPECT_NE(json.find("\"false_alarm\""), std::string::npos) << json;
}

TEST(Evaluate, FlagAtBlockCountsOnlyBlockFindings) {
  auto filter = TestFilter();
  auto scanner = Scanner::Create(filter);
  ASSERT_TRUE(scanner.ok());
  std::vector<LabelledMessage> cases(2);
  cases[0] = {"", "这款是最佳选择", true, "ad_law", false, {}, "", 1};
  cases[1] = {"", "加vx", true, "off_platform", false, {}, "", 2};
  EvalOptions options;
  options.flag_at = Severity::kBlock;
  auto report = Evaluate(*scanner, cases, options);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->overall.caught, 1u);
}

}  // namespace
}  // namespace scriptqa
