// Configuring the filter from the command line and using `check` in pipelines: --rules and
// --add-rules, --profile, check --lines, a file argument, audit --json, --version. Each test
// reproduces a report that failed before its fix.
#include "cli_fixture.h"

namespace {

using namespace scriptqa_cli_test;  // NOLINT
using nlohmann::json;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A one-rule pack of the user's own: mentioning another platform.
std::string ShopRules(const std::string& dir) {
  std::string path = dir + "/shop.rules";
  WriteFile(path,
            "%format scriptqa-rules 1\n"
            "%category my_shop 本店规则\n"
            "%default category my_shop\n"
            "%default severity review\n"
            "rule my_shop.other_platform\n"
            "  literal   拼多多\n"
            "  reason    本店不提其他平台\n"
            "  hit       去拼多多买\n"
            "  miss      在本店下单\n");
  return path;
}

std::vector<std::string> Rules(const json& findings) {
  std::vector<std::string> ids;
  for (const json& f : findings) ids.push_back(f["rule"]);
  return ids;
}

bool HasRule(const json& findings, const std::string& prefix) {
  for (const json& f : findings)
    if (f["rule"].get<std::string>().rfind(prefix, 0) == 0) return true;
  return false;
}

TEST_F(Cli, RulesTakesOneFileSoTheMessageAfterItIsTheMessage) {
  // `check --rules my.rules 去拼多多买` read the message as a second rules file (exit 2,
  // "File does not exist: 去拼多多买").
  const std::string rules = ShopRules(dir_);
  Result r = Run({"check", "--json", "--rules", rules, "去拼多多买"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Rules(json::parse(r.out)["findings"]), std::vector<std::string>{"my_shop.other_platform"});
  // Several files: the flag once per file.
  Result two = Run({"check", "--json", "--rules", rules, "--rules", rules, "去拼多多买"});
  EXPECT_NE(two.code, 0);  // the same rule id twice is a rule error, reported as such
  EXPECT_TRUE(Contains(two.err, "my_shop.other_platform")) << two.err;
}

TEST_F(Cli, AddRulesExtendsTheDefaultPacks) {
  const std::string rules = ShopRules(dir_);
  Result r = Run({"check", "--json", "--add-rules", rules, "去拼多多买，这款是全网最低价"});
  ASSERT_EQ(r.code, 0) << r.err;
  json findings = json::parse(r.out)["findings"];
  EXPECT_TRUE(HasRule(findings, "my_shop.other_platform")) << r.out;
  EXPECT_TRUE(HasRule(findings, "ad_law.")) << r.out;
  // A database is compiled already: nothing can be added to it.
  EXPECT_EQ(Run({"check", "--db", db_, "--add-rules", rules, "去拼多多买"}).code, 2);
}

TEST_F(Cli, AFileArgumentIsNotCheckedAsAMessage) {
  // `scriptqa check msgs.txt` checked the text "msgs.txt" and said "no findings".
  const std::string msgs = dir_ + "/msgs.txt";
  WriteFile(msgs, "加我薇信\n");
  for (const std::string command : {"check", "rewrite", "explain"}) {
    Result r = Run({command, "--db", db_, msgs});
    EXPECT_EQ(r.code, 2) << command << ": " << r.out;
    EXPECT_TRUE(Contains(r.err, "is a file")) << r.err;
    EXPECT_TRUE(Contains(r.err, "< " + msgs)) << r.err;
  }
  EXPECT_TRUE(Contains(Run({"check", "--db", db_, msgs}).err, "--lines")) << "check names --lines";
}

TEST_F(Cli, CheckLinesGivesOneResultPerInputLine) {
  const std::string input = "这款是全网最低价\n\n订单已经帮您催了\r\n加我薇信 13812345678\n";
  Result r = Run({"check", "--db", db_, "--lines", "--json"}, input);
  ASSERT_EQ(r.code, 1) << r.err;  // line 4 is a block finding
  std::vector<std::string> out = Lines(r.out);
  ASSERT_EQ(out.size(), 4u) << r.out;
  std::vector<json> lines;
  for (const std::string& l : out) lines.push_back(json::parse(l));
  for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i]["line"], i + 1);
  EXPECT_TRUE(HasRule(lines[0]["findings"], "ad_law."));
  EXPECT_TRUE(lines[1]["findings"].empty());
  EXPECT_EQ(lines[2]["text"], "订单已经帮您催了");  // the CR is not part of the message
  EXPECT_TRUE(lines[2]["findings"].empty());
  EXPECT_TRUE(HasRule(lines[3]["findings"], "off_platform."));
  EXPECT_TRUE(lines[3]["fails"].get<bool>());
  EXPECT_FALSE(Contains(r.out, "13812345678")) << "masked like every output";
  // The same from files, text output: one line each, named by file and line.
  const std::string a = dir_ + "/lines_a.txt", b = dir_ + "/lines_b.txt";
  WriteFile(a, "这款是全网最低价\n你好\n");
  WriteFile(b, "加我薇信\n");
  Result t = Run({"check", "--db", db_, "--lines", "--color", "never", a, b});
  EXPECT_EQ(t.code, 1);
  std::vector<std::string> text = Lines(t.out);
  ASSERT_EQ(text.size(), 3u) << t.out;
  EXPECT_EQ(text[0].rfind(a + ":1: 1 finding", 0), 0u) << text[0];
  EXPECT_EQ(text[1], a + ":2: no findings");
  EXPECT_EQ(text[2].rfind(b + ":1: ", 0), 0u) << text[2];
  EXPECT_EQ(Run({"check", "--db", db_, "--lines", dir_ + "/no_such.txt"}).code, 2);
}

TEST_F(Cli, ProfileConfiguresCheckRewriteAndExplain) {
  const std::string profile = dir_ + "/profile.json";
  WriteFile(profile, R"({"disabled": ["ad_law"], "category_severity": {"review": "block"},
                         "deny_terms": ["拼多多"], "deny_severity": "block"})");
  Result r = Run({"check", "--db", db_, "--json", "--profile", profile,
                  "这款是全网最低价，好评返现5元，去拼多多买"});
  ASSERT_EQ(r.code, 1) << r.err;
  json findings = json::parse(r.out)["findings"];
  EXPECT_FALSE(HasRule(findings, "ad_law.")) << r.out;
  ASSERT_TRUE(HasRule(findings, "review.")) << r.out;
  ASSERT_TRUE(HasRule(findings, "shop.shop_deny")) << r.out;
  for (const json& f : findings) EXPECT_EQ(f["severity"], "block") << f.dump();
  Result rw = Run({"rewrite", "--db", db_, "--json", "--profile", profile, "这款是全网最低价"});
  EXPECT_EQ(rw.code, 0) << rw.err;
  EXPECT_TRUE(json::parse(rw.out)["replaced"].empty()) << rw.out;
  Result ex = Run({"explain", "--db", db_, "--json", "--profile", profile, "这款是全网最低价"});
  EXPECT_TRUE(Contains(ex.out, "\"disabled\"")) << ex.out;
}

TEST_F(Cli, ProfileFileOfNamedProfilesAndProfileErrors) {
  const std::string shops = dir_ + "/shops.json";
  WriteFile(shops, R"({"shop-a": {"enabled_categories": ["privacy"]},
                       "shop-b": {"rule_severity": {"ad_law.lowest_price": "block"}}})");
  Result a = Run({"check", "--db", db_, "--json", "--profile", shops, "--profile-name", "shop-a",
                  "这款是全网最低价"});
  EXPECT_EQ(a.code, 0) << a.err;
  EXPECT_TRUE(json::parse(a.out)["findings"].empty());
  Result b = Run({"check", "--db", db_, "--profile", shops, "--profile-name", "shop-b",
                  "这款是全网最低价"});
  EXPECT_EQ(b.code, 1) << b.err;  // raised to block
  // Without a name, an unknown name, an ambiguous severity key, an unknown category: exit 2 with
  // what to do.
  Result none = Run({"check", "--db", db_, "--profile", shops, "x"});
  EXPECT_EQ(none.code, 2);
  EXPECT_TRUE(Contains(none.err, "shop-a, shop-b")) << none.err;
  EXPECT_TRUE(Contains(none.err, "--profile-name")) << none.err;
  Result unknown = Run({"check", "--db", db_, "--profile", shops, "--profile-name", "c", "x"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_TRUE(Contains(unknown.err, "no profile \"c\"")) << unknown.err;
  const std::string old = dir_ + "/old.json";
  WriteFile(old, R"({"severity_overrides": {"review": "block"}})");
  Result o = Run({"check", "--db", db_, "--profile", old, "x"});
  EXPECT_EQ(o.code, 2);
  EXPECT_TRUE(Contains(o.err, "category_severity")) << o.err;
  const std::string mixed = dir_ + "/mixed.json";
  WriteFile(mixed, R"({"category_severity": {"ad_law.best": "block"}})");
  Result m = Run({"check", "--db", db_, "--profile", mixed, "x"});
  EXPECT_EQ(m.code, 2);
  EXPECT_TRUE(Contains(m.err, "rule_severity")) << m.err;
  const std::string typo = dir_ + "/typo.json";
  WriteFile(typo, R"({"enabled_categories": ["adlaw"]})");
  Result t = Run({"check", "--db", db_, "--profile", typo, "x"});
  EXPECT_EQ(t.code, 2);
  EXPECT_TRUE(Contains(t.err, "adlaw")) << t.err;
  EXPECT_TRUE(Contains(t.err, "ad_law, ")) << "lists the categories: " << t.err;
}

TEST_F(Cli, ProfileAndJsonInAudit) {
  const std::string profile = dir_ + "/audit_profile.json";
  WriteFile(profile, R"({"disabled": ["ad_law"]})");
  const std::string input = Record("c1", "agent", "这款是全网最低价") + "\n" +
                            Record("c1", "agent", "五星好评返5元") + "\n";
  Audit plain = RunAudit("profile_plain.jsonl", input, {"--fail-on", "none", "--json"});
  ASSERT_EQ(plain.run.code, 0) << plain.run.err;
  // --json: the summary on standard output, the same as summary.json.
  json printed = json::parse(plain.run.out);
  EXPECT_EQ(printed, plain.summary);
  EXPECT_EQ(printed["findings"]["total"], 2) << plain.run.out;
  Audit filtered =
      RunAudit("profile_on.jsonl", input, {"--fail-on", "none", "--json", "--profile", profile});
  ASSERT_EQ(filtered.run.code, 0) << filtered.run.err;
  EXPECT_EQ(filtered.summary["findings"]["total"], 1) << filtered.summary_text;
  for (const json& rec : filtered.records)
    EXPECT_FALSE(HasRule(rec["findings"], "ad_law.")) << rec.dump();
  // Records and summary cannot share standard output.
  Audit both = RunAudit("profile_both.jsonl", input, {"--json", "--findings", "-"});
  EXPECT_EQ(both.run.code, 2);
  EXPECT_TRUE(Contains(both.run.err, "--json")) << both.run.err;
}

TEST_F(Cli, VersionNamesTheLibraryTheEngineAndThePacks) {
  Result r = Run({"--version"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("scriptqa ", 0), 0u) << r.out;
  EXPECT_TRUE(Contains(r.out, "\nlibrary  ")) << r.out;
  EXPECT_TRUE(Contains(r.out, "\nengine   ")) << r.out;
  EXPECT_TRUE(Contains(r.out, "\npacks    ")) << r.out;
  EXPECT_TRUE(Contains(r.out, "ad_law")) << r.out;
  EXPECT_TRUE(Contains(r.out, " rules, hash ")) << r.out;
}

TEST_F(Cli, RewriteRemovesAReviewIncentiveWithItsAmount) {
  Result r = Run({"rewrite", "--db", db_, "好评返现5元哦"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(Contains(r.out, "5元")) << r.out;
  EXPECT_FALSE(Contains(r.out, "返现")) << r.out;
}

}  // namespace

namespace {

TEST_F(Cli, CaretsLineUpWithEveryWideAndZeroWidthCharacter) {
  // Column widths come from ICU's East Asian Width and general category: ⌚ (U+231A) is wide and
  // U+20DD (a combining enclosing circle) takes no column. A hand-written table had both as one
  // column, so the carets stood one column off.
  const std::string msg = "⌚⌚\u20DD这款是最佳选择";
  Result j = Run({"check", "--db", db_, "--json", msg});
  json findings = json::parse(j.out)["findings"];
  ASSERT_FALSE(findings.empty()) << j.out;
  const size_t start = findings[0]["start"], end = findings[0]["end"];
  ASSERT_GE(start, 3u);
  Result r = Run({"check", "--db", db_, "--color", "never", msg});
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_GE(lines.size(), 2u) << r.out;
  // ⌚ two columns each, U+20DD none, then two per CJK character.
  EXPECT_EQ(lines[1], std::string(4 + 2 * (start - 3), ' ') + std::string(2 * (end - start), '^'))
      << r.out;
}

}  // namespace
