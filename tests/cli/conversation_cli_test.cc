// `scriptqa audit` and the conversation checks: conversations.jsonl beside findings.jsonl, the
// scorecard flag, the summary per agent, shop and day, percentiles as pandas computes them, and
// the report's new sections. The checks themselves are tested through the library
// (tests/conversation_test.cc); here, what the command line adds.
#include <map>

#include "cli_fixture.h"

namespace {

using namespace scriptqa_cli_test;  // NOLINT
using nlohmann::json;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::vector<json> ReadRows(const std::string& path) {
  std::vector<json> rows;
  for (const std::string& line : Lines(ReadFile(path))) rows.push_back(json::parse(line));
  return rows;
}

std::string At(int s, const char* agent = "A", const char* shop = "s1") {
  return ",\"timestamp\":" + std::to_string(1750000000 + s) + ",\"agent_id\":\"" + agent + "\",\"shop_id\":\"" +
         shop + "\"";
}

TEST_F(Cli, ConversationRowsBesideTheFindings) {
  std::string in;
  in += Record("c1", "customer", "在吗", At(0)) + "\n";
  in += Record("c1", "agent", "您好，我是小店客服小安，请问有什么可以帮您？", At(10)) + "\n";
  in += Record("c2", "customer", "这个好用吗", At(0, "B", "s2")) + "\n";
  in += Record("c2", "agent", "这款是全网最低价", At(45, "B", "s2")) + "\n";
  in += Record("c1", "customer", "发货了吗？", At(20)) + "\n";  // interleaved: still c1
  in += Record("c1", "agent", "已经发货了，还有其他可以帮您的吗？", At(60)) + "\n";
  in += Record("c2", "customer", "我要投诉！", At(60, "B", "s2")) + "\n";
  Audit a = RunAudit("rows.jsonl", in, {"--fail-on", "none"});
  ASSERT_EQ(a.run.code, 0) << a.run.err;
  EXPECT_TRUE(Contains(a.run.out, "scores:   " + a.out_dir + "/conversations.jsonl")) << a.run.out;
  std::vector<json> rows = ReadRows(a.out_dir + "/conversations.jsonl");
  ASSERT_EQ(rows.size(), 2u);
  // In the order the conversations started; one row per conversation.
  EXPECT_EQ(rows[0]["conversation_id"], "c1");
  EXPECT_EQ(rows[1]["conversation_id"], "c2");
  EXPECT_EQ(rows[0]["score"], 100) << rows[0].dump();
  EXPECT_EQ(rows[0]["agent_id"], "A");
  EXPECT_EQ(rows[0]["shop_id"], "s1");
  EXPECT_EQ(rows[0]["day"], "2025-06-15");
  EXPECT_EQ(rows[0]["first_response_s"], 10.0);
  EXPECT_EQ(rows[0]["reply_s"], json::array({40.0}));
  const json& c2 = rows[1];
  EXPECT_EQ(c2["first_response"], "fail");
  EXPECT_EQ(c2["greeting"], "fail");
  EXPECT_EQ(c2["unanswered"], "fail");
  EXPECT_EQ(c2["upset"], "fail");
  EXPECT_EQ(c2["findings"], "fail");
  int sum = 0;
  std::map<std::string, int> turns;
  for (const json& d : c2["deductions"]) {
    sum += d["points"].get<int>();
    turns[d["check"].get<std::string>()] = d["turn"].get<int>();
  }
  EXPECT_EQ(c2["score"], 100 - sum);
  EXPECT_EQ(turns["first_response"], 1);  // named by the turn: c2's agent reply
  EXPECT_EQ(turns["upset"], 2);           // the customer's complaint
  // The summary aggregates the rows per agent, shop and day.
  const json& conv = a.summary["conversations"];
  EXPECT_EQ(conv["total"], 2);
  EXPECT_EQ(conv["by_agent"].size(), 2u);
  EXPECT_EQ(conv["by_agent"][0]["agent"], "B");  // the lowest mean first
  EXPECT_EQ(conv["by_shop"][0]["shop"], "s2");
  ASSERT_EQ(conv["by_day"].size(), 1u);
  EXPECT_EQ(conv["by_day"][0]["conversations"], 2);
  EXPECT_EQ(conv["worst"][0]["conversation_id"], "c2");
  EXPECT_FALSE(conv["worst"][0]["excerpt"].empty());
  EXPECT_EQ(conv["score"]["mean"], (100 + c2["score"].get<double>()) / 2);
}

TEST_F(Cli, ScorecardFileChangesTheChecksAndBadOnesAreRefused) {
  std::string in = Record("c1", "customer", "在吗") + "\n" + Record("c1", "agent", "有什么问题我可以帮您处理呢") + "\n";
  Audit plain = RunAudit("card-default.jsonl", in, {"--fail-on", "none"});
  ASSERT_EQ(plain.run.code, 0) << plain.run.err;
  std::vector<json> rows = ReadRows(plain.out_dir + "/conversations.jsonl");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["greeting"], "fail");
  EXPECT_EQ(rows[0]["score"], 90);  // greeting 5, closing 5
  // Only the greeting, worth 20; the cue file is found beside the shipped scorecard.
  std::string card = dir_ + "/greeting-only.scorecard";
  WriteFile(card, "%format scriptqa-scorecard 1\ncues conversation.cues\ncheck greeting\n  points 20\n");
  Audit custom = RunAudit("card-custom.jsonl", in, {"--fail-on", "none", "--scorecard", card});
  ASSERT_EQ(custom.run.code, 0) << custom.run.err;
  rows = ReadRows(custom.out_dir + "/conversations.jsonl");
  EXPECT_EQ(rows[0]["score"], 80);
  EXPECT_EQ(rows[0]["closing"], "off");
  EXPECT_EQ(custom.summary["conversations"]["scorecard"]["source"], card);
  // A broken scorecard stops the audit before it reads anything, naming the line.
  std::string bad = dir_ + "/bad.scorecard";
  WriteFile(bad, "%format scriptqa-scorecard 1\ncues conversation.cues\ncheck greeting\n  points lots\n");
  Audit refused = RunAudit("card-bad.jsonl", in, {"--scorecard", bad});
  EXPECT_EQ(refused.run.code, 2);
  EXPECT_TRUE(Contains(refused.run.err, bad + ":4: check greeting: points must be an integer from 0 to 100"))
      << refused.run.err;
  EXPECT_EQ(RunAudit("card-missing.jsonl", in, {"--scorecard", dir_ + "/nope.scorecard"}).run.code, 2);
  EXPECT_EQ(RunAudit("card-tz.jsonl", in, {"--timezone", "Mars/Olympus"}).run.code, 2);
}

TEST_F(Cli, PercentilesInterpolateAsPandasDoes) {
  // Later replies of 10, 20, 30, 40 and 100.5 s: pandas' median is 30, its p90 76.30000000000001
  // (40 + 0.6 × 60.5, NumPy's arithmetic). The whole-second buckets read by lower rank gave 40
  // and 40.
  std::string in;
  int t = 0;
  in += Record("p", "customer", "在吗", At(t)) + "\n";
  in += Record("p", "agent", "您好，我是客服", At(t += 5)) + "\n";
  for (double wait : {10.0, 20.0, 30.0, 40.0, 100.5}) {
    in += Record("p", "customer", "发货了吗？", At(t += 10)) + "\n";
    int64_t ms = (1750000000LL + t) * 1000 + static_cast<int64_t>(wait * 1000);
    in += Record("p", "agent", "发了", ",\"timestamp\":" + std::to_string(ms) + ",\"agent_id\":\"A\"") + "\n";
    t += static_cast<int>(wait) + 1;
  }
  Audit a = RunAudit("quantiles.jsonl", in, {"--fail-on", "none"});
  ASSERT_EQ(a.run.code, 0) << a.run.err;
  const json& replies = a.summary["conversations"]["replies"];
  EXPECT_EQ(replies["count"], 5);
  EXPECT_EQ(replies["median_s"].get<double>(), 30.0);
  EXPECT_EQ(replies["p90_s"].get<double>(), 76.30000000000001);
  EXPECT_EQ(replies["within"], 5);
}

TEST_F(Cli, DaysFollowTheTimeZone) {
  // 23:30 UTC on 18 June is 07:30 on 19 June in China; a time without an offset is read in the
  // zone given.
  std::string in = Record("z", "customer", "在吗", ",\"timestamp\":\"2025-06-18T23:30:00Z\"") + "\n" +
                   Record("z", "agent", "您好，我是客服", ",\"timestamp\":\"2025-06-18T23:30:10Z\"") + "\n" +
                   Record("y", "customer", "在吗", ",\"timestamp\":\"2025-06-19 07:40:00\"") + "\n" +
                   Record("y", "agent", "您好，我是客服", ",\"timestamp\":\"2025-06-19 07:40:05\"") + "\n";
  Audit utc = RunAudit("tz-utc.jsonl", in, {"--fail-on", "none"});
  Audit cn = RunAudit("tz-cn.jsonl", in, {"--fail-on", "none", "--timezone", "+08:00"});
  std::vector<json> u = ReadRows(utc.out_dir + "/conversations.jsonl"), c = ReadRows(cn.out_dir + "/conversations.jsonl");
  ASSERT_EQ(u.size(), 2u);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(u[0]["day"], "2025-06-18");
  EXPECT_EQ(c[0]["day"], "2025-06-19");
  EXPECT_EQ(u[1]["day"], "2025-06-19");
  EXPECT_EQ(c[1]["day"], "2025-06-19");
  EXPECT_EQ(c[1]["start_ms"].get<int64_t>(), 1750290000000);  // 07:40 at +08:00 = 23:40 UTC
  EXPECT_EQ(cn.summary["settings"]["timezone"], "+08:00");
}

TEST_F(Cli, AllMalformedReportShowsNoRates) {
  // Every record malformed: the report says so first and shows no rate (before: "0.0%" cards).
  Audit a = RunAudit("all-bad.jsonl", "not json\n{\"x\":1}\n");
  EXPECT_EQ(a.run.code, 2);
  size_t alert = a.report.find("id=\"problems-first\""), overview = a.report.find("id=\"overview\"");
  ASSERT_NE(alert, std::string::npos);
  EXPECT_LT(alert, overview);
  EXPECT_FALSE(Contains(a.report, "0.0%")) << a.report.substr(overview, 2000);
  EXPECT_TRUE(Contains(a.report, "No agent message was scanned"));
}

TEST_F(Cli, TheSampleGivesConversationRowsForEveryConversation) {
  Result r = Run({"audit", std::string(SCRIPTQA_SOURCE_DIR) + "/examples/sample_transcripts.jsonl", "--out",
                  dir_ + "/sample-conv", "-q"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<json> rows = ReadRows(dir_ + "/sample-conv/conversations.jsonl");
  ASSERT_EQ(rows.size(), 6u);
  for (const json& row : rows) {
    int sum = 0;
    for (const json& d : row["deductions"]) sum += d["points"].get<int>();
    EXPECT_EQ(row["score"], std::max(0, 100 - sum)) << row.dump();
    for (const char* check : {"first_response", "reply_time", "longest_wait", "greeting", "closing", "unanswered",
                              "upset", "repeat_question", "findings"})
      EXPECT_TRUE(row.contains(check)) << check;
  }
  // The customer's phone number never reaches an output, the excerpts included.
  EXPECT_FALSE(Contains(ReadFile(dir_ + "/sample-conv/conversations.jsonl"), "13912345678"));
  EXPECT_FALSE(Contains(ReadFile(dir_ + "/sample-conv/summary.json"), "13912345678"));
}

}  // namespace
