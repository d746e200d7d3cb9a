// Tests of the scriptqa command-line tool, through its only public interface: the executable, its
// arguments, standard streams, exit code and output files.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include "nlohmann/json.hpp"

#include "cli_fixture.h"

namespace {

using namespace scriptqa_cli_test;  // NOLINT
using nlohmann::json;

// ---------------------------------------------------------------- golden cases

std::string FromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

std::vector<json> GoldenCases() {
  std::vector<json> cases;
  std::string text = ReadFile(std::string(SCRIPTQA_TESTDATA_DIR) + "/golden.jsonl");
  for (const std::string& line : Lines(text))
    if (!line.empty()) cases.push_back(json::parse(line));
  return cases;
}

void ExpectFinding(const json& got, const json& want) {
  for (const char* key : {"rule", "category", "severity", "byte_start", "byte_end", "start", "end",
                          "matched", "suggestion"})
    EXPECT_EQ(got[key], want[key]) << key;
}

TEST_F(Cli, GoldenCasesThroughCheck) {
  std::vector<json> cases = GoldenCases();
  ASSERT_GE(cases.size(), 20u) << "tests/testdata/golden.jsonl is missing or short";
  for (const json& c : cases) {
    std::string text = c.contains("text_bytes_hex") ? FromHex(c["text_bytes_hex"]) : c["text"].get<std::string>();
    SCOPED_TRACE(c["text"].get<std::string>());
    // Through stdin (any bytes) with the compiled database, and unmasked: the golden file has
    // the raw matches.
    Result r = Run({"check", "--json", "--no-mask", "--fail-on", "none", "--db", db_}, text + "\n");
    ASSERT_EQ(r.code, 0) << r.err;
    json out = json::parse(r.out);
    ASSERT_EQ(out["findings"].size(), c["findings"].size()) << r.out;
    for (size_t i = 0; i < c["findings"].size(); ++i) ExpectFinding(out["findings"][i], c["findings"][i]);
  }
}

TEST_F(Cli, GoldenCasesThroughAuditAndDefaultPacks) {
  std::vector<json> cases = GoldenCases();
  ASSERT_GE(cases.size(), 20u);
  std::string input;
  for (size_t i = 0; i < cases.size(); ++i) {
    const json& c = cases[i];
    std::string text = c.contains("text_bytes_hex") ? FromHex(c["text_bytes_hex"]) : c["text"].get<std::string>();
    // Raw bytes inside the JSON string: invalid UTF-8 stays invalid in the input line.
    std::string escaped = json(c["text"].get<std::string>()).dump();
    if (c.contains("text_bytes_hex")) escaped = "\"" + text + "\"";
    input += "{\"conversation_id\":\"g" + std::to_string(i) + "\",\"role\":\"agent\",\"text\":" +
             escaped + "}\n";
  }
  // The default packs compiled in this process (no --db): the same rules as the database.
  Audit a = RunAudit("golden.jsonl", input, {"--no-mask", "--fail-on", "none"}, /*use_db=*/false);
  ASSERT_EQ(a.run.code, 0) << a.run.err;
  ASSERT_EQ(a.records.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const json& c = cases[i];
    const json& rec = a.records[i];
    SCOPED_TRACE(c["text"].get<std::string>());
    EXPECT_EQ(rec["line"], i + 1);
    ASSERT_FALSE(rec.contains("error")) << rec.dump();
    ASSERT_EQ(rec["findings"].size(), c["findings"].size()) << rec.dump();
    for (size_t k = 0; k < c["findings"].size(); ++k) {
      const json& got = rec["findings"][k];
      const json& want = c["findings"][k];
      if (c.contains("text_bytes_hex")) {
        // Repaired to U+FFFD in the output: character offsets are the library's, byte offsets
        // index the repaired text that the record carries.
        EXPECT_TRUE(rec.contains("warning"));
        for (const char* key : {"rule", "category", "severity", "start", "end", "matched", "suggestion"})
          EXPECT_EQ(got[key], want[key]) << key;
        std::string shown = rec["text"];
        EXPECT_EQ(shown.substr(got["byte_start"], got["byte_end"].get<size_t>() - got["byte_start"].get<size_t>()),
                  want["matched"].get<std::string>());
      } else {
        ExpectFinding(got, want);
      }
    }
  }
}

// ---------------------------------------------------------------- check / rewrite / explain

TEST_F(Cli, CheckExitCodesFollowFailOn) {
  const std::string block = "亲，加我薇信发您优惠券哦";   // off_platform: block
  const std::string review = "这款是全网最低价";          // ad_law: review
  const std::string clean = "订单已经帮您催了，最晚明天送达";
  EXPECT_EQ(Run({"check", "--db", db_, block}).code, 1);
  EXPECT_EQ(Run({"check", "--db", db_, review}).code, 0);  // default --fail-on block
  EXPECT_EQ(Run({"check", "--db", db_, "--fail-on", "review", review}).code, 1);
  EXPECT_EQ(Run({"check", "--db", db_, "--fail-on", "none", block}).code, 0);
  EXPECT_EQ(Run({"check", "--db", db_, clean}).code, 0);
  // Filters: a category that is not in the message, a severity above the finding.
  EXPECT_EQ(Run({"check", "--db", db_, "--category", "ad_law", block}).code, 0);
  Result r = Run({"check", "--db", db_, "--min-severity", "block", "--json", review});
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(json::parse(r.out)["findings"].empty());
  // Usage errors are 2.
  EXPECT_EQ(Run({"check", "--db", db_, "--min-severity", "fatal", review}).code, 2);
  EXPECT_EQ(Run({"check", "--db", db_, "--category", "no_such_category", review}).code, 2);
  EXPECT_EQ(Run({"check", "--rules", dir_ + "/missing.rules", review}).code, 2);
  EXPECT_EQ(Run({"frobnicate"}).code, 2);
  EXPECT_EQ(Run({}).code, 2);
}

TEST_F(Cli, CheckReadsStdinAndArguments) {
  Result a = Run({"check", "--json", "--db", db_, "这款是全网最低价"});
  Result b = Run({"check", "--json", "--db", db_}, "这款是全网最低价\n");
  Result c = Run({"check", "--json", "--db", db_, "这款是", "全网最低价"});  // joined by a space
  ASSERT_EQ(a.code, 0);
  EXPECT_EQ(a.out, b.out);
  json jc = json::parse(c.out);
  EXPECT_EQ(jc["text"], "这款是 全网最低价");
  ASSERT_EQ(jc["findings"].size(), 1u);
  EXPECT_EQ(jc["findings"][0]["start"], 4);
}

TEST_F(Cli, CheckHighlightsOnlyWhenAsked) {
  const std::string msg = "这款是全网最低价";
  Result plain = Run({"check", "--db", db_, msg});  // stdout is a file: no colour
  EXPECT_EQ(plain.out.find("\x1b["), std::string::npos);
  // The caret line marks exactly the finding's columns (CJK characters are two columns wide).
  std::vector<std::string> lines = Lines(plain.out);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0], msg);
  EXPECT_EQ(lines[1], std::string(6, ' ') + std::string(10, '^'));  // 全网最低价
  Result color = Run({"check", "--db", db_, "--color=always", msg});
  EXPECT_NE(color.out.find("\x1b["), std::string::npos);
  EXPECT_NE(color.out.find("全网最低"), std::string::npos);
  EXPECT_EQ(color.out.find("^^^"), std::string::npos);
}

TEST_F(Cli, PersonalDataIsMaskedUnlessNoMask) {
  const std::string msg = "您的手机号是13812345678，已为您登记";
  Result masked = Run({"check", "--json", "--db", db_, msg});
  EXPECT_EQ(masked.out.find("13812345678"), std::string::npos) << masked.out;
  json m = json::parse(masked.out);
  ASSERT_FALSE(m["findings"].empty());
  EXPECT_EQ(m["findings"][0]["category"], "privacy");
  EXPECT_EQ(m["findings"][0]["matched"], "138****5678");
  Result human = Run({"check", "--db", db_, msg});
  EXPECT_EQ(human.out.find("13812345678"), std::string::npos) << human.out;
  Result raw = Run({"check", "--json", "--no-mask", "--db", db_, msg});
  EXPECT_EQ(json::parse(raw.out)["findings"][0]["matched"], "13812345678");
  Result explain = Run({"explain", "--db", db_, msg});
  EXPECT_EQ(explain.out.find("13812345678"), std::string::npos) << explain.out;
}

TEST_F(Cli, RewriteGivesACleanMessage) {
  const std::string msg = "这款是全网最低价，绝对不会坏，加我薇信聊";
  Result r = Run({"rewrite", "--db", db_, msg});
  ASSERT_EQ(r.code, 0) << r.err;
  std::string fixed = Lines(r.out).at(0);
  EXPECT_NE(fixed, msg);
  Result again = Run({"check", "--json", "--db", db_, "--fail-on", "review", fixed});
  EXPECT_EQ(again.code, 0) << again.out;
  Result j = Run({"rewrite", "--json", "--db", db_, msg});
  json out = json::parse(j.out);
  EXPECT_EQ(out["rewritten"], fixed);
  EXPECT_TRUE(out["clean"].get<bool>());
  EXPECT_GE(out["replaced"].size(), 3u);
}

TEST_F(Cli, ExplainShowsSuppressedHits) {
  // "最佳" inside 最佳饮用时间 (a consumer tip, exempt) is a raw hit that an allow-context
  // suppresses: no finding, but a trace.
  const std::string msg = "最佳饮用时间是开封后三天内";
  Result check = Run({"check", "--json", "--db", db_, msg});
  ASSERT_TRUE(json::parse(check.out)["findings"].empty());
  Result r = Run({"explain", "--json", "--db", db_, msg});
  ASSERT_EQ(r.code, 0) << r.err;
  json e = json::parse(r.out);
  ASSERT_FALSE(e["traces"].empty()) << r.out;
  for (const json& t : e["traces"]) EXPECT_NE(t["decision"], "reported");
  EXPECT_TRUE(e["findings"].empty());
  Result human = Run({"explain", "--db", db_, msg});
  EXPECT_NE(human.out.find("normalized:"), std::string::npos);
  EXPECT_NE(human.out.find(e["traces"][0]["decision"].get<std::string>()), std::string::npos);
}

TEST_F(Cli, EverySubcommandHasHelp) {
  for (const char* sub : {"check", "rewrite", "explain", "audit", "compile", "lint"}) {
    Result r = Run({sub, "--help"});
    EXPECT_EQ(r.code, 0) << sub;
    EXPECT_NE(r.out.find("--rules"), std::string::npos) << sub;
    EXPECT_NE(r.out.find("--db"), std::string::npos) << sub;
    EXPECT_NE(r.out.find("--limit"), std::string::npos) << sub;
  }
  for (const char* sub : {"check", "audit"}) {
    Result r = Run({sub, "--help"});
    for (const char* flag : {"--min-severity", "--category", "--fail-on", "--json", "--no-mask"})
      EXPECT_NE(r.out.find(flag), std::string::npos) << sub << " " << flag;
  }
  EXPECT_EQ(Run({"--help"}).code, 0);
}

// ---------------------------------------------------------------- compile / lint

TEST_F(Cli, CompiledDatabaseGivesTheSameFindings) {
  const std::string msg = "這款產品絕對是最佳選擇，加 V-信 聊";
  Result from_db = Run({"check", "--json", "--db", db_, msg});
  Result from_rules = Run({"check", "--json", msg});
  EXPECT_EQ(from_db.out, from_rules.out);
  Result bad = Run({"check", "--db", dir_ + "/no.db", msg});
  EXPECT_EQ(bad.code, 2);
  WriteFile(dir_ + "/garbage.db", "not a database");
  EXPECT_EQ(Run({"check", "--db", dir_ + "/garbage.db", msg}).code, 2);
}

TEST_F(Cli, LintReportsLoadErrorsAndFailingExamples) {
  Result shipped = Run({"lint"});
  EXPECT_EQ(shipped.code, 0) << shipped.out;
  EXPECT_NE(shipped.out.find("0 problems"), std::string::npos) << shipped.out;
  EXPECT_EQ(shipped.out.find("gives a finding of rule"), std::string::npos) << shipped.out;

  std::string good =
      "%format scriptqa-rules 1\n"
      "%default category ad_law\n"
      "%default severity review\n"
      "rule t.best\n"
      "  literal 最佳\n"
      "  reason 测试\n"
      "  hit 这款是最佳选择\n"
      "  hit 这款非常好\n"        // line 8: cannot fire
      "  miss 最佳就是它\n";      // fires: a failing miss example
  WriteFile(dir_ + "/examples.rules", good);
  Result r = Run({"lint", dir_ + "/examples.rules"});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find(dir_ + "/examples.rules:4: rule t.best: hit example gives no finding"),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("miss example gives a finding"), std::string::npos) << r.out;

  WriteFile(dir_ + "/broken.rules",
            "%format scriptqa-rules 1\nrule t.x\n  literal 最佳\n  severity fatal\n");
  Result b = Run({"lint", "--json", dir_ + "/broken.rules"});
  EXPECT_EQ(b.code, 1);
  json j = json::parse(b.out);
  ASSERT_FALSE(j["problems"].empty());
  EXPECT_NE(j["problems"][0]["message"].get<std::string>().find("broken.rules:"), std::string::npos)
      << b.out;
}

TEST_F(Cli, LintWarnsAboutSuggestionsThatAreFlaggedThemselves) {
  WriteFile(dir_ + "/suggest.rules",
            "%format scriptqa-rules 1\n"
            "%default category ad_law\n"
            "%default severity block\n"
            "rule t.best\n"                     // line 4
            "  literal 最佳\n"
            "  suggest 第一流的\n"              // flagged by t.first
            "  suggest 出色的\n"
            "  reason r\n  hit 这款最佳\n  miss 很好\n"
            "rule t.first\n"                    // line 11
            "  literal 第一\n"
            "  suggest 【{match}】\n"           // holds its own match
            "  reason r\n  hit 全网第一\n  miss 第二\n"
            "rule t.fine\n"
            "  literal 顶级\n"
            "  suggest 优质\n"
            "  reason r\n  hit 顶级货\n  miss 好货\n");
  Result r = Run({"lint", dir_ + "/suggest.rules"});
  EXPECT_EQ(r.code, 0) << r.out;  // warnings only
  EXPECT_NE(r.out.find(dir_ + "/suggest.rules:4: rule t.best: warning: suggestion 1 \"第一流的\" "
                                "gives a finding of rule t.first \"第一\""),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("suggestion 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(dir_ + "/suggest.rules:11: rule t.first: warning: suggestion 1 \"【第一】\" "
                                "gives a finding of rule t.first \"第一\""),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("rule t.fine"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 problems"), std::string::npos) << r.out;
}

// ---------------------------------------------------------------- compile-time bounds (--limit)

// `n` rules of one small regex each ("w<i>[xy]", with a hit and a miss example): past the default
// bound of 1,000 regexes from n = 1,001. Compiling 1,001 of them takes about a second.
std::string ManyRegexRules(int n) {
  std::string d = "%format scriptqa-rules 1\n%default category privacy\n%default severity block\n";
  for (int i = 0; i < n; ++i) {
    std::string w = "w" + std::to_string(i);
    d += "rule p.r" + std::to_string(i) + "\n  regex " + w + "[xy]\n  reason r\n  hit " + w +
         "x\n  miss " + w + "z\n";
  }
  return d;
}

TEST_F(Cli, LimitRaisesACompileBoundAndTheErrorNamesIt) {
  const std::string rules = dir_ + "/many-regexes.rules";
  WriteFile(rules, ManyRegexRules(1001));
  const std::string hint = "raise it with --limit max_regexes=N (0 lifts it)";

  // Refused by default: the library's message, naming the rule and the option, plus the flag.
  Result lint = Run({"lint", rules});
  EXPECT_EQ(lint.code, 1) << lint.out << lint.err;
  EXPECT_NE(lint.out.find(rules + ":5004: rule p.r1000: more than 1000 regexes"), std::string::npos)
      << lint.out;
  EXPECT_NE(lint.out.find("(the compile-time bound FilterOptions::limits.max_regexes); this is the "
                          "first past it; " + hint),
            std::string::npos)
      << lint.out;
  EXPECT_NE(lint.out.find("rules do not load"), std::string::npos) << lint.out;
  Result compile = Run({"compile", rules, "-o", dir_ + "/refused.db"});
  EXPECT_EQ(compile.code, 2);
  EXPECT_NE(compile.err.find("FilterOptions::limits.max_regexes"), std::string::npos) << compile.err;
  EXPECT_NE(compile.err.find(hint), std::string::npos) << compile.err;
  EXPECT_FALSE(std::ifstream(dir_ + "/refused.db").good());

  // Raised, the dictionary loads and every example holds.
  Result raised = Run({"lint", "--limit", "max_regexes=2000", rules});
  EXPECT_EQ(raised.code, 0) << raised.out << raised.err;
  EXPECT_NE(raised.out.find("1001 rules, 2002 examples checked; 0 problems"), std::string::npos)
      << raised.out;
  // Lifted (0), compiled to a database that then scans without any --limit.
  const std::string db = dir_ + "/many-regexes.db";
  Result lifted = Run({"compile", "--limit", "max_regexes=0", rules, "-o", db});
  ASSERT_EQ(lifted.code, 0) << lifted.err;
  EXPECT_NE(lifted.out.find("1001 rules (0 literals, 1001 regexes)"), std::string::npos) << lifted.out;
  Result scan = Run({"check", "--json", "--no-mask", "--fail-on", "none", "--db", db, "w1000y"});
  ASSERT_EQ(scan.code, 0) << scan.err;
  json found = json::parse(scan.out)["findings"];
  ASSERT_EQ(found.size(), 1u) << scan.out;
  EXPECT_EQ(found[0]["rule"], "p.r1000");

  // A lower bound than the default refuses earlier; the last --limit of a name wins.
  Result lower = Run({"lint", "--limit", "max_regexes=0", "--limit", "max_regexes=10", rules});
  EXPECT_EQ(lower.code, 1);
  EXPECT_NE(lower.out.find("rule p.r10: more than 10 regexes"), std::string::npos) << lower.out;

  // One regex over max_regex_bytes (1,024) is refused before anything is compiled.
  const std::string long_rules = dir_ + "/long-regex.rules";
  WriteFile(long_rules, "%format scriptqa-rules 1\n%default category privacy\n%default severity block\n"
                        "rule t.long\n  regex " + std::string(1100, 'a') + "[0-9]\n  reason r\n");
  Result too_long = Run({"compile", long_rules, "-o", dir_ + "/long.db"});
  EXPECT_EQ(too_long.code, 2);
  EXPECT_NE(too_long.err.find("regex of 1105 bytes"), std::string::npos) << too_long.err;
  EXPECT_NE(too_long.err.find("raise it with --limit max_regex_bytes=N (0 lifts it)"),
            std::string::npos) << too_long.err;
  EXPECT_EQ(Run({"compile", "--limit", "max_regex_bytes=2048", long_rules, "-o", dir_ + "/long.db"}).code, 0);
}

TEST_F(Cli, ScanningCommandsTakeLimitAndTheCacheKeepsThemApart) {
  const std::string rules = dir_ + "/many-regexes-cached.rules";
  WriteFile(rules, ManyRegexRules(1001));
  const std::string cache = dir_ + "/limit-cache";
  ASSERT_EQ(setenv("SCRIPTQA_CACHE_DIR", cache.c_str(), 1), 0);
  // Compiled with the bound lifted, and cached...
  Result lifted = Run({"check", "--json", "--fail-on", "none", "--limit", "max_regexes=0",
                       "--rules", rules, "--", "w1000x"});
  // ...which must not let a run with the default bound in: its key holds the bounds.
  Result again = Run({"check", "--rules", rules, "--", "w1000x"});
  WriteFile(dir_ + "/limit-audit.jsonl", Record("c", "agent", "w1000x") + "\n");
  Result audit = Run({"audit", dir_ + "/limit-audit.jsonl", "--out", dir_ + "/limit-audit.out",
                      "--rules", rules});
  unsetenv("SCRIPTQA_CACHE_DIR");
  ASSERT_EQ(lifted.code, 0) << lifted.err;
  EXPECT_EQ(json::parse(lifted.out)["findings"].size(), 1u) << lifted.out;
  EXPECT_EQ(again.code, 2) << again.out;
  EXPECT_NE(again.err.find("scriptqa check: "), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("raise it with --limit max_regexes=N (0 lifts it)"), std::string::npos)
      << again.err;
  EXPECT_EQ(audit.code, 2);
  EXPECT_NE(audit.err.find("raise it with --limit max_regexes=N"), std::string::npos) << audit.err;
}

TEST_F(Cli, BadLimitIsAUsageError) {
  const std::string rules = dir_ + "/one-regex.rules";
  WriteFile(rules, ManyRegexRules(1));
  const std::string names = "max_regex_bytes, max_regexes, max_total_regex_bytes or max_literals";
  for (const char* arg : {"foo=1", "max_regexes", "max_regexes=-1", "max_regexes=", "max_regexes=1x",
                          "max_regexes=+1", "max_regexes= 1", "=5", "MAX_REGEXES=5",
                          "max_regexes=99999999999999999999999"}) {
    SCOPED_TRACE(arg);
    for (const char* sub : {"lint", "compile", "check"}) {
      std::vector<std::string> args = {sub, "--limit", arg, "--rules", rules};
      if (std::string(sub) == "compile") args.insert(args.end(), {"-o", dir_ + "/bad-limit.db"});
      if (std::string(sub) == "check") args.insert(args.end(), {"--", "w0x"});
      Result r = Run(args);
      EXPECT_EQ(r.code, 2) << sub << ": " << r.out;
      EXPECT_NE(r.err.find("--limit"), std::string::npos) << sub << ": " << r.err;
      if (std::string(arg).rfind("max_regexes", 0) == 0)
        EXPECT_NE(r.err.find("non-negative integer"), std::string::npos) << r.err;
      else
        EXPECT_NE(r.err.find(names), std::string::npos) << r.err;
    }
  }
  // Every name is accepted.
  for (const char* arg : {"max_regex_bytes=0", "max_regexes=1", "max_total_regex_bytes=65536",
                          "max_literals=18446744073709551615"})
    EXPECT_EQ(Run({"lint", "--limit", arg, rules}).code, 0) << arg;
  // A database is compiled already: --limit with --db is refused, not ignored.
  Result with_db = Run({"check", "--db", db_, "--limit", "max_regexes=5", "--", "最佳"});
  EXPECT_EQ(with_db.code, 2);
  EXPECT_NE(with_db.err.find("--db excludes --limit"), std::string::npos) << with_db.err;
  EXPECT_EQ(Run({"lint", "--limit", "max_regexes=5", "--db", db_}).code, 2);
}

// ---------------------------------------------------------------- audit: input handling

TEST_F(Cli, MalformedRecordsAreReportedAndKept) {
  std::string huge_text(3000, 'a');
  std::vector<std::string> lines = {
      Record("c1", "customer", "在吗"),                                   // 1 ok
      Record("c1", "agent", "这款是全网最低价"),                            // 2 finding
      "{\"conversation_id\":\"c1\",\"role\":\"agent\",\"text\":\"abc\"",  // 3 truncated JSON
      "",                                                                 // 4 empty line
      "{\"conversation_id\":\"c1\",\"role\":\"agent\"}",             // 5 no text
      "[1,2,3]",                                                          // 6 not an object
      "{\"conversation_id\":\"c1\",\"role\":\"agent\",\"text\":\"\xff\xfe最佳选择\"}",  // 7 bad UTF-8
      Record("c1", "agent", huge_text),                                   // 8 longer than the limit
      "{\"conversation_id\":\"c1\",\"role\":\"agent\",\"text\":42}",      // 9 text not a string
      Record("c1", "agent", "好的\r"),                                    // 10 ok
      "   ",                                                              // 11 blank
      Record("c1", "agent", "绝对不会坏"),                                // 12 CRLF line
  };
  std::string input;
  for (size_t i = 0; i < lines.size(); ++i) input += lines[i] + (i + 1 == 12 ? "\r\n" : "\n");
  input += Record("c1", "agent", "最后一行没有换行");  // 13: no final newline
  Audit a = RunAudit("malformed.jsonl", input, {"--max-record-bytes", "2048"});
  ASSERT_EQ(a.run.code, 0) << a.run.err;
  ASSERT_EQ(a.records.size(), 13u) << a.findings_text;  // count in == count out
  for (size_t i = 0; i < a.records.size(); ++i) EXPECT_EQ(a.records[i]["line"], i + 1);
  std::set<int> error_lines;
  for (const json& r : a.records)
    if (r.contains("error")) error_lines.insert(r["line"].get<int>());
  EXPECT_EQ(error_lines, (std::set<int>{3, 4, 5, 6, 8, 9, 11}));
  EXPECT_NE(a.records[4]["error"].get<std::string>().find("text"), std::string::npos);
  // Invalid UTF-8 is scanned after repair, with a warning, not dropped.
  const json& bad = a.records[6];
  EXPECT_TRUE(bad.contains("warning"));
  ASSERT_EQ(bad["findings"].size(), 1u) << bad.dump();
  EXPECT_EQ(bad["findings"][0]["rule"], "ad_law.best");
  EXPECT_EQ(bad["findings"][0]["start"], 2);  // \xff\xfe: two invalid sequences, two characters
  EXPECT_EQ(bad["findings"][0]["end"], 4) << "offsets as the library counts them";
  ASSERT_EQ(a.records[11]["findings"].size(), 1u);  // CRLF stripped
  EXPECT_EQ(a.records[11]["findings"][0]["end"], 5);
  EXPECT_EQ(a.records[12]["role"], "agent");
  // Each problem on stderr with file and line, and in the summary.
  for (int line : {3, 4, 5, 6, 7, 8, 9, 11})
    EXPECT_NE(a.run.err.find("malformed.jsonl:" + std::to_string(line) + ":"), std::string::npos)
        << line << "\n" << a.run.err;
  EXPECT_EQ(a.summary["records"]["errors"], 7);
  EXPECT_EQ(a.summary["records"]["total"], 13);
  EXPECT_EQ(a.summary["problems"].size(), 8u);  // 7 errors + 1 warning
  // --strict turns malformed records into exit code 2.
  Audit strict = RunAudit("malformed2.jsonl", input, {"--max-record-bytes", "2048", "--strict"});
  EXPECT_EQ(strict.run.code, 2);
  EXPECT_EQ(strict.records.size(), 13u);
}

TEST_F(Cli, HugeLinesStayBounded) {
  // A 40 MB line is skipped while reading (memory bounded), a 1 MB one is scanned.
  std::string big(40 << 20, 'x');
  std::string ok_text(1 << 20, 'y');
  std::string input = Record("c", "agent", "好的") + "\n" + Record("c", "agent", big) + "\n" +
                      Record("c", "agent", ok_text + "全网最低") + "\n" + Record("c", "agent", "再见") + "\n";
  Audit a = RunAudit("huge.jsonl", input, {"--max-record-bytes", "8000000", "-j", "2"});
  ASSERT_EQ(a.run.code, 0) << a.run.err;
  ASSERT_EQ(a.records.size(), 4u);
  EXPECT_TRUE(a.records[1].contains("error"));
  EXPECT_EQ(a.records[1]["line"], 2);
  EXPECT_FALSE(a.records[2].contains("error"));
  EXPECT_EQ(a.records[2]["findings"].size(), 1u);
  EXPECT_EQ(a.records[3]["line"], 4);
}

std::string Gzip(const std::string& data) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string Synthetic(int conversations) {
  std::string s;
  const char* agent_lines[] = {"您好，我是小店客服小安，请问有什么可以帮您？", "这款是全网最低价",
                               "好的，已经帮您催促快递", "这个我也不知道", "加我薇信聊"};
  for (int c = 0; c < conversations; ++c) {
    std::string id = "conv-" + std::to_string(c);
    for (int t = 0; t < 6; ++t) {
      bool agent = t % 2 == 1;
      std::string more = ",\"turn\":" + std::to_string(t) + ",\"agent_id\":\"a" +
                         std::to_string(c % 3) + "\"";
      s += Record(id, agent ? "agent" : "customer",
                  agent ? agent_lines[(c + t) % 5] : "请问这个什么时候发货", more) + "\n";
    }
  }
  return s;
}

TEST_F(Cli, GzipAndPlainGiveTheSameRecords) {
  std::string input = Synthetic(50);
  std::string half = input.substr(0, input.find('\n', input.size() / 2) + 1);
  std::string rest = input.substr(half.size());
  Audit plain = RunAudit("plain.jsonl", input, {"--fail-on", "none"});
  Audit gz = RunAudit("two-members.jsonl.gz", Gzip(half) + Gzip(rest), {"--fail-on", "none"});
  ASSERT_EQ(gz.run.code, 0) << gz.run.err;
  ASSERT_EQ(plain.records.size(), 300u);
  ASSERT_EQ(gz.records.size(), plain.records.size());
  for (size_t i = 0; i < plain.records.size(); ++i) {
    json p = plain.records[i], g = gz.records[i];
    p.erase("file");
    g.erase("file");
    EXPECT_EQ(p, g);
  }
  // A truncated archive is an input error, after the records that could be read.
  std::string z = Gzip(input);
  Audit cut = RunAudit("cut.jsonl.gz", z.substr(0, z.size() / 2), {"--fail-on", "none"});
  EXPECT_EQ(cut.run.code, 2);
  EXPECT_NE(cut.run.err.find("truncated"), std::string::npos) << cut.run.err;
}

TEST_F(Cli, StdinAndSeveralFilesKeepTheirOrder) {
  std::string a = Synthetic(3), b = Synthetic(2);
  WriteFile(dir_ + "/a.jsonl", a);
  Result r = Run({"audit", dir_ + "/a.jsonl", "-", "--db", db_, "--out", dir_ + "/multi",
                  "--fail-on", "none"}, b);
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> out = Lines(ReadFile(dir_ + "/multi/findings.jsonl"));
  ASSERT_EQ(out.size(), 30u);
  EXPECT_EQ(json::parse(out[0])["file"], dir_ + "/a.jsonl");
  EXPECT_EQ(json::parse(out[18])["file"], "<stdin>");
  EXPECT_EQ(json::parse(out[18])["line"], 1);
  EXPECT_EQ(json::parse(out[29])["line"], 12);
  // --findings - streams the records to stdout; the summary moves to stderr.
  Result s = Run({"audit", "-", "--db", db_, "--out", dir_ + "/multi2", "--findings", "-",
                  "--fail-on", "none"}, b);
  EXPECT_EQ(Lines(s.out).size(), 12u);
  EXPECT_NE(s.err.find("report:"), std::string::npos);
}

TEST_F(Cli, CsvWithQuotesAndCustomFieldNames) {
  std::string csv =
      "会话,说话人,内容,时间,客服\n"
      "k1,buyer,\"在吗，\"\"急\"\"\",2025-06-18T09:00:00Z,\n"
      "k1,seller,\"这款是全网最低价,\n第二行\",2025-06-18T09:00:20Z,A1\n"
      "k1,seller,\"bad\"x,2025-06-18T09:00:30Z,A1\n"
      "k1,seller\n"
      "k1,seller,\"您好，我是客服小安\",1750237250,A1\n";
  Audit a = RunAudit("chats.csv", csv,
                     {"--conversation-field", "会话", "--role-field", "说话人", "--text-field", "内容",
                      "--timestamp-field", "时间", "--agent-field", "客服", "--agent-role", "seller",
                      "--customer-role", "buyer", "--fail-on", "none"});
  ASSERT_EQ(a.run.code, 0) << a.run.err;
  ASSERT_EQ(a.records.size(), 5u) << a.findings_text;
  EXPECT_EQ(a.records[0]["line"], 2);
  EXPECT_EQ(a.records[1]["line"], 3);
  EXPECT_EQ(a.records[1]["findings"][0]["rule"], "ad_law.lowest_price");
  EXPECT_EQ(a.records[1]["agent_id"], "A1");
  EXPECT_EQ(a.records[2]["line"], 5);  // the quoted newline made record 2 two lines long
  EXPECT_TRUE(a.records[2].contains("error"));
  EXPECT_TRUE(a.records[3].contains("error"));  // too few columns: no text
  EXPECT_EQ(a.records[4]["line"], 7);
  // 09:00:00 → 09:00:20: the first response, within 30 s.
  EXPECT_EQ(a.summary["conversations"]["first_response"]["count"], 1);
  EXPECT_EQ(a.summary["conversations"]["first_response"]["within"], 1);
}

TEST_F(Cli, ThreadsDoNotChangeTheOutput) {
  std::string input = Synthetic(4000);  // ~3 MB: several chunks in flight
  Audit one = RunAudit("t1.jsonl", input, {"-j", "1", "--fail-on", "none"});
  Audit four = RunAudit("t4.jsonl", input, {"-j", "4", "--fail-on", "none"});
  ASSERT_EQ(one.run.code, 0);
  ASSERT_EQ(one.records.size(), 24000u);
  ASSERT_EQ(four.records.size(), one.records.size());
  for (size_t i = 0; i < one.records.size(); ++i) {  // only the file name differs
    json x = one.records[i], y = four.records[i];
    x.erase("file");
    y.erase("file");
    ASSERT_EQ(x, y) << i;
  }
  json s1 = one.summary, s4 = four.summary;
  for (json* s : {&s1, &s4}) {
    s->erase("performance");
    s->erase("inputs");
    (*s)["examples"] = json::array();
  }
  EXPECT_EQ(s1, s4);
}

// ---------------------------------------------------------------- audit: metrics, privacy, exit

TEST_F(Cli, ResponseTimesGreetingsAndRates) {
  // Built so that the expected numbers follow from the construction.
  auto at = [](int s) { return ",\"timestamp\":" + std::to_string(1750000000 + s) + ",\"agent_id\":\"A\""; };
  auto atb = [](int s) { return ",\"timestamp\":" + std::to_string(1750000000 + s) + ",\"agent_id\":\"B\""; };
  std::string in;
  // Conversation 1 (agent A): greeting, first response 10 s, later reply 100 s (within 120).
  in += Record("c1", "customer", "在吗", at(0)) + "\n";
  in += Record("c1", "agent", "您好，我是小店客服小安", at(10)) + "\n";
  in += Record("c1", "customer", "发货了吗", at(20)) + "\n";
  in += Record("c1", "customer", "急", at(50)) + "\n";  // same wait: measured from 20
  in += Record("c1", "agent", "已经发货了", at(120)) + "\n";
  // Conversation 2 (agent B): no greeting, first response 45 s (over 30), reply 150 s (over 120,
  // within the 180 s promotion limit), a review finding.
  in += Record("c2", "customer", "这个好用吗", atb(0)) + "\n";
  in += Record("c2", "agent", "这款是全网最低价", atb(45)) + "\n";
  in += Record("c2", "customer", "真的吗", atb(60)) + "\n";
  in += Record("c2", "agent", "这个我也不知道", atb(210)) + "\n";
  Audit a = RunAudit("timing.jsonl", in);
  ASSERT_EQ(a.run.code, 0) << a.run.err;
  const json& conv = a.summary["conversations"];
  EXPECT_EQ(conv["total"], 2);
  EXPECT_TRUE(conv["timing_available"].get<bool>());
  EXPECT_EQ(conv["first_response"]["count"], 2);
  EXPECT_EQ(conv["first_response"]["within"], 1);
  EXPECT_EQ(conv["replies"]["count"], 2);
  EXPECT_EQ(conv["replies"]["within"], 1);
  EXPECT_EQ(conv["greeting"]["checked"], 2);
  EXPECT_EQ(conv["greeting"]["ok"], 1);
  const json& f = a.summary["findings"];
  EXPECT_EQ(f["deflection"], 1);
  EXPECT_EQ(f["ad_law"], 1);
  EXPECT_DOUBLE_EQ(f["per_100_messages"].get<double>(), 100.0 * 2 / 4);
  std::map<std::string, json> agents;
  for (const json& ag : a.summary["agents"]) agents[ag["agent"]] = ag;
  EXPECT_EQ(agents["A"]["flagged_messages"], 0);
  EXPECT_EQ(agents["B"]["flagged_messages"], 2);
  EXPECT_DOUBLE_EQ(agents["B"]["violation_rate"].get<double>(), 1.0);
  EXPECT_EQ(agents["B"]["first_response"]["within"], 0);
  EXPECT_EQ(agents["A"]["replies"]["within"], 1);

  Audit promo = RunAudit("timing-promo.jsonl", in, {"--promo"});
  EXPECT_EQ(promo.summary["conversations"]["replies"]["within"], 2);
  Audit strict = RunAudit("timing-strict.jsonl", in, {"--first-response-limit", "5"});
  EXPECT_EQ(strict.summary["conversations"]["first_response"]["within"], 0);
}

TEST_F(Cli, GreetingWordsAnywhereInTheFirstReply) {
  // Differential: the audit's greeting check against a plain search for the words of the default
  // cue file (dictionaries/conversation.cues, cue.hello and cue.identity) in the text as the
  // matcher sees it (blanks removed, ASCII lower case; an ASCII word must not touch an ASCII
  // letter), with the words at the start, in the middle and at the very end of the text, alone
  // and in pairs.
  const std::vector<std::string> who = {"我是", "这里是", "客服", "为您服务", "竭诚为您", "工号", "小二"};
  const std::vector<std::string> hello = {"您好", "你好", "亲爱的", "早上好", "上午好", "中午好", "下午好", "晚上好",
                                          "欢迎光临", "欢迎咨询", "欢迎来到", "嗨", "hello", "hi", "哈喽"};
  std::vector<std::string> texts;
  for (const std::string& w : who)
    for (const std::string& h : hello) {
      texts.push_back(h + w);
      texts.push_back(w + "小安" + h);
      texts.push_back("嗯，" + h + "，" + w + "店铺客服");
    }
  for (const std::string& w : who) texts.push_back(w);      // no greeting word
  for (const std::string& h : hello) texts.push_back(h);    // no self-introduction
  for (std::string t : {"我", "客", "h", "hell", "您", "这里", "为您服", "我 是您好", "客户好", "Hello客服",
                        "H", "hI客服", "hi客", "早上", "嗨客 服", "", "亲爱 的我是", "this客服", "hello2客服"})
    texts.push_back(t);
  auto seen = [](std::string text) {
    std::string t;
    for (char c : text)
      if (c != ' ') t.push_back(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return t;
  };
  auto has = [](const std::string& t, const std::string& w) {
    bool ascii = static_cast<unsigned char>(w[0]) < 0x80;
    for (size_t p = t.find(w); p != std::string::npos; p = t.find(w, p + 1)) {
      auto letter = [&](size_t i) { return i < t.size() && t[i] >= 'a' && t[i] <= 'z'; };
      if (!ascii || ((p == 0 || !letter(p - 1)) && !letter(p + w.size()))) return true;
    }
    return false;
  };
  std::string in;
  size_t expect_ok = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    std::string id = "g" + std::to_string(i);
    in += Record(id, "customer", "在吗") + "\n" + Record(id, "agent", texts[i]) + "\n" +
          Record(id, "agent", "您好，我是客服") + "\n";  // a later reply does not count
    std::string t = seen(texts[i]);
    bool w = false, h = false;
    for (const std::string& x : who) w = w || has(t, x);
    for (const std::string& x : hello) h = h || has(t, x);
    expect_ok += w && h;
  }
  Audit a = RunAudit("greetings.jsonl", in, {"--fail-on", "none", "-j", "2"});
  ASSERT_EQ(a.run.code, 0) << a.run.err;
  EXPECT_EQ(a.summary["conversations"]["greeting"]["checked"], texts.size());
  EXPECT_EQ(a.summary["conversations"]["greeting"]["ok"], expect_ok);
}

TEST_F(Cli, RecordStringsAreEscapedAsJsonDumpDoes) {
  // Every byte that needs escaping, at every position of an eight-byte word, in the conversation
  // id and in the text of a flagged message: the output holds exactly nlohmann's dump() of them.
  std::string specials;
  for (int c = 1; c < 0x20; ++c) specials += static_cast<char>(c);
  specials += "\"\\/\x7f😀é";
  std::string in;
  std::vector<std::string> ids, texts;
  for (int shift = 0; shift < 9; ++shift) {
    std::string pad(shift, 'x');
    ids.push_back("c" + pad + specials);
    texts.push_back(pad + specials + "这款是全网最低价" + specials + pad);
    in += Record(ids.back(), "agent", texts.back(), ",\"turn\":" + std::to_string(shift - 4)) + "\n";
  }
  Audit a = RunAudit("escapes.jsonl", in, {"--fail-on", "none"});
  ASSERT_EQ(a.run.code, 0) << a.run.err;
  std::vector<std::string> lines = Lines(a.findings_text);
  ASSERT_EQ(lines.size(), ids.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_NE(lines[i].find("\"conversation_id\":" + json(ids[i]).dump() + ","), std::string::npos)
        << lines[i];
    EXPECT_NE(lines[i].find("\"text\":" + json(texts[i]).dump() + "}"), std::string::npos)
        << lines[i];
    EXPECT_EQ(a.records[i]["turn"], static_cast<int>(i) - 4);
    ASSERT_FALSE(a.records[i]["findings"].empty());
    EXPECT_EQ(json::parse(lines[i])["findings"][0].dump(), a.records[i]["findings"][0].dump());
  }
}

TEST_F(Cli, RecordsAcrossChunkBoundariesKeepTheirLines) {
  // Records of every length up to a few kB, and one longer than a chunk (1 MiB), so that chunk
  // cuts fall everywhere and the reader's buffer has to grow.
  std::string in;
  std::vector<std::string> ids;
  uint32_t x = 12345;
  for (int i = 0; in.size() < (5u << 20); ++i) {
    x = x * 1103515245 + 12345;
    size_t len = (i == 2000) ? (3u << 19) : (x >> 8) % 3000;
    ids.push_back("k" + std::to_string(i));
    std::string text(len, 'a' + i % 26);
    if (i % 97 == 0) text += "全网最低";
    in += Record(ids.back(), i % 2 ? "agent" : "customer", text) + (i % 5 == 0 ? "\r\n" : "\n");
  }
  Audit a = RunAudit("chunks.jsonl", in, {"--fail-on", "none", "-j", "3"});
  ASSERT_EQ(a.run.code, 0) << a.run.err;
  ASSERT_EQ(a.records.size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(a.records[i]["line"], i + 1);
    ASSERT_EQ(a.records[i]["conversation_id"], ids[i]);
    ASSERT_EQ(a.records[i]["findings"].size(), i % 97 == 0 && i % 2 ? 1u : 0u) << i;
  }
  EXPECT_EQ(a.summary["records"]["errors"], 0);
}

TEST_F(Cli, AMessageTheLibraryRefusesIsKeptWithAWarning) {
  // The chunk's messages are scanned in one batch: a message the library refuses (one that would
  // normalise to more than 4x its size) gets its own warning; the messages around it are scanned.
  std::string expanding;
  for (int i = 0; i < 20000; ++i) expanding += "\xEF\xB7\xBA";  // U+FDFA: 3 bytes, 33 normalised
  std::string in = Record("x", "agent", "这款是全网最低价") + "\n" + Record("x", "agent", expanding) +
                   "\n" + Record("x", "agent", "绝对不会坏") + "\n";
  Audit a = RunAudit("refused.jsonl", in, {"--fail-on", "none"});
  ASSERT_EQ(a.run.code, 0) << a.run.err;
  ASSERT_EQ(a.records.size(), 3u);
  EXPECT_EQ(a.records[0]["findings"].size(), 1u);
  EXPECT_TRUE(a.records[1]["findings"].empty());
  ASSERT_TRUE(a.records[1].contains("warning")) << a.records[1].dump();
  EXPECT_NE(a.records[1]["warning"].get<std::string>().find("not scanned"), std::string::npos);
  EXPECT_EQ(a.records[2]["findings"].size(), 1u);
  EXPECT_NE(a.run.err.find("refused.jsonl:2: warning: not scanned"), std::string::npos) << a.run.err;
}

TEST_F(Cli, ConversationTableStaysBounded) {
  // 100,000 open conversations at most: the least recently seen half is dropped when full, so a
  // conversation that comes back after that counts as a new one; one seen all along does not.
  std::string in;
  in += Record("A", "customer", "在吗") + "\n";
  for (int i = 0; i < 120000; ++i) {
    in += Record("x" + std::to_string(i), "customer", "在吗") + "\n";
    if (i % 1000 == 0) in += Record("B", "customer", "在吗") + "\n";
  }
  in += Record("A", "agent", "您好") + "\n";
  in += Record("B", "agent", "您好") + "\n";
  Audit a = RunAudit("many-conversations.jsonl", in, {"--fail-on", "none"});
  ASSERT_EQ(a.run.code, 0) << a.run.err;
  EXPECT_EQ(a.summary["records"]["total"], 120000 + 120 + 3);
  EXPECT_EQ(a.summary["conversations"]["total"], 120000 + 2 + 1);  // A twice, B once
  EXPECT_EQ(a.summary["conversations"]["greeting"]["checked"], 2);
}

TEST_F(Cli, TimesBefore1970StaySigned) {
  std::string in = Record("n", "customer", "在吗", ",\"timestamp\":\"1960-01-01T00:00:00Z\"") +
                   "\n" + Record("n", "agent", "好的", ",\"timestamp\":\"1960-01-01T00:00:10Z\"") + "\n";
  Audit a = RunAudit("old.jsonl", in, {"--fail-on", "none"});
  ASSERT_EQ(a.run.code, 0) << a.run.err;
  ASSERT_EQ(a.records.size(), 2u);
  // (json's == would equate the unsigned wrap-around with it: look at the text.)
  EXPECT_NE(a.findings_text.find("\"time_ms\":-315619200000,"), std::string::npos)
      << a.findings_text;
  EXPECT_EQ(a.summary["conversations"]["first_response"]["within"], 1);
}

TEST_F(Cli, WithoutTimestampsTheReportSaysSo) {
  Audit a = RunAudit("no-time.jsonl", Synthetic(5), {"--fail-on", "none"});
  ASSERT_EQ(a.run.code, 0) << a.run.err;
  EXPECT_FALSE(a.summary["conversations"]["timing_available"].get<bool>());
  EXPECT_EQ(a.summary["conversations"]["first_response"]["count"], 0);
  EXPECT_NE(a.report.find("id=\"no-timestamps\""), std::string::npos);
  EXPECT_NE(a.run.out.find("response times: not computed"), std::string::npos) << a.run.out;
}

TEST_F(Cli, AuditMasksPersonalDataEverywhere) {
  std::string in;
  in += Record("p1", "customer", "我的电话是13912345678，身份证号11010519491231002X") + "\n";
  in += Record("p1", "agent", "您的手机号是13912345678，已为您登记") + "\n";
  in += Record("p1", "agent", "退款已退至您的银行卡6222021234567890128") + "\n";
  for (bool mask : {true, false}) {
    Audit a = RunAudit(mask ? "pii.jsonl" : "pii-raw.jsonl", in,
                       mask ? std::vector<std::string>{} : std::vector<std::string>{"--no-mask"});
    ASSERT_EQ(a.run.code, 1) << a.run.err;  // privacy findings are block
    ASSERT_EQ(a.records.size(), 3u);
    EXPECT_EQ(a.records[1]["findings"][0]["category"], "privacy");
    for (const std::string& secret : {"13912345678", "6222021234567890128", "11010519491231002X"}) {
      for (const std::string* out : {&a.findings_text, &a.summary_text, &a.report, &a.run.out}) {
        if (mask || secret == "11010519491231002X")  // the customer's text is never printed
          EXPECT_EQ(out->find(secret), std::string::npos) << secret;
      }
    }
    if (!mask) EXPECT_NE(a.findings_text.find("13912345678"), std::string::npos);
    // Offsets stay valid for the masked text.
    const json& rec = a.records[1];
    std::string text = rec["text"];
    const json& f = rec["findings"][0];
    EXPECT_EQ(text.substr(f["byte_start"], f["byte_end"].get<size_t>() - f["byte_start"].get<size_t>()),
              f["matched"].get<std::string>());
  }
}

TEST_F(Cli, AuditExitCodes) {
  EXPECT_EQ(RunAudit("e0.jsonl", Record("c", "agent", "好的") + "\n").run.code, 0);
  EXPECT_EQ(RunAudit("e1.jsonl", Record("c", "agent", "加我薇信聊") + "\n").run.code, 1);
  EXPECT_EQ(RunAudit("e2.jsonl", Record("c", "agent", "全网最低价") + "\n").run.code, 0);
  EXPECT_EQ(RunAudit("e3.jsonl", Record("c", "agent", "全网最低价") + "\n", {"--fail-on", "review"}).run.code, 1);
  // A customer writing the forbidden words is not a finding: only agent messages are scanned.
  Audit c = RunAudit("e4.jsonl", Record("c", "customer", "加我薇信聊") + "\n" +
                                     Record("c", "agent", "好的") + "\n");
  EXPECT_EQ(c.run.code, 0);
  EXPECT_FALSE(c.records[0]["scanned"].get<bool>());
  // Customer messages alone: nothing was scanned, which is not a clean result.
  EXPECT_EQ(RunAudit("e6.jsonl", Record("c", "customer", "加我薇信聊") + "\n").run.code, 2);
  Result missing = Run({"audit", dir_ + "/does-not-exist.jsonl", "--db", db_, "--out", dir_ + "/e5"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("does-not-exist.jsonl"), std::string::npos);
  EXPECT_EQ(Run({"audit", "--db", db_}).code, 2);  // no input
  EXPECT_EQ(Run({"audit", "x.jsonl", "--threads", "many"}).code, 2);
}

TEST_F(Cli, ProgressOnlyWhenAsked) {
  Audit quiet = RunAudit("p.jsonl", Synthetic(20), {"--fail-on", "none", "-q"});
  EXPECT_EQ(quiet.run.err, "");  // stderr is not a terminal: no progress bar
  EXPECT_EQ(quiet.run.out, "");
  Audit shown = RunAudit("p2.jsonl", Synthetic(20), {"--fail-on", "none", "-q", "--progress", "always"});
  EXPECT_NE(shown.run.err.find("records"), std::string::npos);
}

TEST_F(Cli, SampleTranscriptsQuickStart) {
  // The README's first command: the bundled sample, a short summary and the report path.
  Result r = Run({"audit", std::string(SCRIPTQA_SOURCE_DIR) + "/examples/sample_transcripts.jsonl",
                  "--out", dir_ + "/quickstart"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("report:   " + dir_ + "/quickstart/report.html"), std::string::npos) << r.out;
  json s = json::parse(ReadFile(dir_ + "/quickstart/summary.json"));
  EXPECT_EQ(s["records"]["total"], 40);
  EXPECT_GE(s["agents"].size(), 2u);
  EXPECT_GT(s["findings"]["total"].get<int>(), 0);
  EXPECT_TRUE(s["conversations"]["timing_available"].get<bool>());
  // The customer's phone number in the sample never reaches an output.
  for (const char* f : {"/quickstart/findings.jsonl", "/quickstart/summary.json", "/quickstart/report.html"})
    EXPECT_EQ(ReadFile(dir_ + f).find("13912345678"), std::string::npos);
}


// ---------------------------------------------------------------- the report in a real browser

struct Image {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> rgb;  // 3 bytes per pixel
};

uint32_t BigEndian(const std::string& s, size_t pos) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(s[pos + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

// Decodes an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes).
bool DecodePng(const std::string& png, Image* img, std::string* error) {
  if (png.size() < 8 || png.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) {
    *error = "not a PNG";
    return false;
  }
  std::string idat;
  int color_type = -1, depth = 0, interlace = 0;
  for (size_t pos = 8; pos + 12 <= png.size();) {
    uint32_t len = BigEndian(png, pos);
    std::string type = png.substr(pos + 4, 4);
    if (pos + 12 + len > png.size()) break;
    if (type == "IHDR") {
      img->width = BigEndian(png, pos + 8);
      img->height = BigEndian(png, pos + 12);
      depth = static_cast<uint8_t>(png[pos + 16]);
      color_type = static_cast<uint8_t>(png[pos + 17]);
      interlace = static_cast<uint8_t>(png[pos + 20]);
    } else if (type == "IDAT") {
      idat.append(png, pos + 8, len);
    }
    pos += 12 + len;
  }
  int channels = color_type == 6 ? 4 : color_type == 2 ? 3 : 0;
  if (depth != 8 || channels == 0 || interlace != 0) {
    *error = "unsupported PNG layout";
    return false;
  }
  size_t stride = static_cast<size_t>(img->width) * channels;
  std::string raw((stride + 1) * img->height, '\0');
  uLongf raw_len = raw.size();
  if (uncompress(reinterpret_cast<Bytef*>(raw.data()), &raw_len,
                 reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK ||
      raw_len != raw.size()) {
    *error = "bad image data";
    return false;
  }
  std::vector<uint8_t> prev(stride, 0), cur(stride);
  img->rgb.clear();
  for (uint32_t y = 0; y < img->height; ++y) {
    const uint8_t* line = reinterpret_cast<const uint8_t*>(raw.data()) + y * (stride + 1);
    uint8_t filter = line[0];
    for (size_t x = 0; x < stride; ++x) {
      int a = x >= static_cast<size_t>(channels) ? cur[x - channels] : 0;
      int b = prev[x];
      int c = x >= static_cast<size_t>(channels) ? prev[x - channels] : 0;
      int v = line[1 + x];
      switch (filter) {
        case 1: v += a; break;
        case 2: v += b; break;
        case 3: v += (a + b) / 2; break;
        case 4: {
          int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          v += (pa <= pb && pa <= pc) ? a : pb <= pc ? b : c;
          break;
        }
        default: break;
      }
      cur[x] = static_cast<uint8_t>(v);
    }
    for (uint32_t x = 0; x < img->width; ++x)
      for (int k = 0; k < 3; ++k) img->rgb.push_back(cur[x * channels + k]);
    std::swap(prev, cur);
  }
  return true;
}

size_t CountColor(const Image& img, int r, int g, int b, int tolerance) {
  size_t n = 0;
  for (size_t i = 0; i + 2 < img.rgb.size(); i += 3)
    n += std::abs(img.rgb[i] - r) <= tolerance && std::abs(img.rgb[i + 1] - g) <= tolerance &&
         std::abs(img.rgb[i + 2] - b) <= tolerance;
  return n;
}

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST_F(Cli, ReportRendersInHeadlessChromium) {
  Audit a = RunAudit("render.jsonl",
                     ReadFile(std::string(SCRIPTQA_SOURCE_DIR) + "/examples/sample_transcripts.jsonl") +
                         Record("c-9", "customer", "能便宜吗", ",\"timestamp\":1750238400") + "\n" +
                         Record("c-9", "agent", "加我薇信，私下转账给你便宜", ",\"timestamp\":1750238410,\"agent_id\":\"小美\"") + "\n");
  ASSERT_EQ(a.run.code, 1) << a.run.err;  // the added block finding
  std::string url = "file://" + a.out_dir + "/report.html";
  std::vector<std::string> flags = {"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                                    "--no-first-run", "--disable-background-networking",
                                    "--disable-component-update", "--disable-sync",
                                    "--hide-scrollbars", "--user-data-dir=" + dir_ + "/chromium-profile"};
  // 1. The DOM Chromium builds from the file: the charts, the tables and the highlights are there.
  std::vector<std::string> dom_args = {"120", "chromium"};
  dom_args.insert(dom_args.end(), flags.begin(), flags.end());
  dom_args.push_back("--dump-dom");
  dom_args.push_back(url);
  Result dom = Run(dom_args, "", "timeout");
  ASSERT_EQ(dom.code, 0) << "chromium (Debian package chromium) must be installed: " << dom.err;
  const std::string& d = dom.out;
  EXPECT_NE(d.find("<svg id=\"by-category\""), std::string::npos);
  EXPECT_NE(d.find("<svg id=\"by-severity\""), std::string::npos);
  const json& cats = a.summary["findings"]["by_category"];
  size_t bars = 0;
  for (const json& c : cats)
    for (const char* sev : {"block", "review", "advice"}) bars += c[sev].get<int>() > 0;
  EXPECT_EQ(Count(d, "class=\"bar "), bars);
  for (const json& ag : a.summary["agents"])
    EXPECT_NE(d.find("<td>" + ag["agent"].get<std::string>() + "</td>"), std::string::npos);
  EXPECT_GE(Count(d, "<mark class=\"block\">"), 1u);
  EXPECT_GE(Count(d, "<mark class=\"review\">"), 1u);
  EXPECT_EQ(Count(d, "<div class=\"example\">"), a.summary["examples"].size());
  // Examples, the most severe first: the added block finding leads although it came last.
  size_t first_example = d.find("<div class=\"example\">");
  ASSERT_NE(first_example, std::string::npos);
  EXPECT_EQ(d.find("class=\"sev block\"", first_example),
            d.find("class=\"sev ", first_example)) << "the first example is not the block one";
  // Conversation scores: distribution, checks, agents ranked, shops, days, the worst ones with
  // their deductions and a masked excerpt.
  const json& conv = a.summary["conversations"];
  EXPECT_NE(d.find("<svg id=\"score-distribution\""), std::string::npos);
  EXPECT_EQ(Count(d, "class=\"score-bar\""), 10u);
  EXPECT_NE(d.find("id=\"agents-by-score\""), std::string::npos);
  EXPECT_NE(d.find("<svg id=\"trend-by-day\""), std::string::npos);
  EXPECT_EQ(Count(d, "class=\"day-bar\""), conv["by_day"].size());
  for (const json& shop : conv["by_shop"])
    EXPECT_NE(d.find("<td>" + (shop["shop"].is_string() ? shop["shop"].get<std::string>() : "(unknown)") + "</td>"),
              std::string::npos);
  EXPECT_EQ(Count(d, "<div class=\"conversation\">"), conv["worst"].size());
  size_t excerpt_lines = 0, deductions = 0;
  for (const json& w : conv["worst"]) excerpt_lines += w["excerpt"].size(), deductions += w["deductions"].size();
  EXPECT_EQ(Count(d, "<div class=\"line "), excerpt_lines);
  EXPECT_GT(deductions, 0u);
  EXPECT_EQ(Count(d, "<li>−"), deductions);
  EXPECT_NE(d.find("block + review messages"), std::string::npos);
  EXPECT_NE(d.find("advice only"), std::string::npos);
  EXPECT_EQ(d.find("id=\"no-timestamps\""), std::string::npos);
  EXPECT_EQ(d.find("13912345678"), std::string::npos);
  EXPECT_EQ(d.find("<script"), std::string::npos);
  // Self-contained: nothing to fetch.
  for (const char* external : {"src=", "<link", "url(", "@import", "https:"})
    EXPECT_EQ(d.find(external), std::string::npos) << external;

  // 2. A screenshot: the page is drawn, with the severity colours of the charts and highlights.
  std::string png = dir_ + "/report.png";
  std::vector<std::string> shot_args = {"120", "chromium"};
  shot_args.insert(shot_args.end(), flags.begin(), flags.end());
  shot_args.push_back("--window-size=1280,2000");
  shot_args.push_back("--screenshot=" + png);
  shot_args.push_back(url);
  Result shot = Run(shot_args, "", "timeout");
  ASSERT_EQ(shot.code, 0) << shot.err;
  Image img;
  std::string error;
  ASSERT_TRUE(DecodePng(ReadFile(png), &img, &error)) << error;
  EXPECT_EQ(img.width, 1280u);
  EXPECT_EQ(img.height, 2000u);
  size_t pixels = static_cast<size_t>(img.width) * img.height;
  size_t white = CountColor(img, 255, 255, 255, 2) + CountColor(img, 248, 249, 250, 2);
  EXPECT_LT(white, pixels * 9 / 10) << "the page is (nearly) blank";
  EXPECT_GT(CountColor(img, 0x1b, 0x2a, 0x41, 4), 1280u * 40) << "header band";
  EXPECT_GT(CountColor(img, 0xc9, 0x2a, 0x2a, 8), 200u) << "block-coloured chart bars";
  EXPECT_GT(CountColor(img, 0xe8, 0x59, 0x0c, 8), 1000u) << "review-coloured chart bars";
  EXPECT_GT(CountColor(img, 0x2f, 0x9e, 0x44, 8), 200u) << "response-time bars";
}

}  // namespace
