// Loading and validating dictionaries: the bad-dictionary table, term lists, options.
#include <gtest/gtest.h>

#include <set>

#include "scriptqa/filter.h"
#include "test_util.h"

namespace scriptqa {
namespace {

using testing::ReadFileOrDie;
using testing::SplitLines;

struct BadCase {
  std::string name;
  std::string text;
  std::vector<std::string> errors;
};

// "\xNN" in the table stands for a raw byte (to write invalid UTF-8 in a valid text file).
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() + 0 && s[i + 1] == 'x') {
      out += static_cast<char>(std::stoi(s.substr(i + 2, 2), nullptr, 16));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<BadCase> LoadBadCases() {
  std::vector<BadCase> cases;
  enum { kNone, kText, kErrors } state = kNone;
  for (const std::string& line :
       SplitLines(ReadFileOrDie(std::string(SCRIPTQA_TESTDATA_DIR) + "/bad_dictionaries.txt"))) {
    if (line.rfind("=== ", 0) == 0) {
      cases.push_back({line.substr(4), "", {}});
      state = kText;
    } else if (line == "--- errors") {
      state = kErrors;
    } else if (state == kText) {
      cases.back().text += Unescape(line) + "\n";
    } else if (state == kErrors && !line.empty()) {
      cases.back().errors.push_back(line);
    }
  }
  return cases;
}

TEST(BadDictionaries, EveryCaseGivesExactlyItsErrors) {
  std::vector<BadCase> cases = LoadBadCases();
  ASSERT_GE(cases.size(), 12u);
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    DictionarySource src = DictionarySource::Text("case.rules", c.text);
    src.kind = DictionarySource::Kind::kRules;
    auto f = Filter::FromDictionaries({src});
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
    std::vector<std::string> lines = SplitLines(std::string(f.status().message()));
    ASSERT_FALSE(lines.empty());
    // First line: "N problem(s) in the dictionaries:".
    EXPECT_EQ(lines[0], std::to_string(c.errors.size()) +
                            (c.errors.size() == 1 ? " problem" : " problems") +
                            " in the dictionaries:");
    std::multiset<std::string> got(lines.begin() + 1, lines.end());
    std::multiset<std::string> want(c.errors.begin(), c.errors.end());
    EXPECT_EQ(got, want);
  }
}

TEST(Dictionaries, DuplicateIdAcrossFilesNamesBothPlaces) {
  const std::string a = "%format scriptqa-rules 1\n%default category ad_law\n%default severity review\n"
                        "rule x.same\n  literal 最佳\n  reason r\n";
  auto f = Filter::FromDictionaries(
      {DictionarySource::Text("a.rules", a), DictionarySource::Text("b.rules", a)});
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find(
                "b.rules:4: rule x.same: duplicate rule id (first defined at a.rules:4)"),
            absl::string_view::npos)
      << f.status();
}

TEST(Dictionaries, MissingFileIsNotFoundWithPath) {
  auto f = Filter::FromFiles({"/nonexistent/x.rules"});
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("/nonexistent/x.rules: cannot open"), absl::string_view::npos)
      << f.status();
}

TEST(Dictionaries, ErrorsOfAllFilesAreReportedTogether) {
  auto f = Filter::FromDictionaries(
      {DictionarySource::Text("one.rules", "%format scriptqa-rules 1\nrule a\n  literal x\n  reason r\n  severity bad\n"),
       DictionarySource::Text("two.rules", "%format scriptqa-rules 1\nrule b\n  regex (\n  reason r\n  category ad_law\n  severity block\n")});
  ASSERT_FALSE(f.ok());
  std::string m(f.status().message());
  EXPECT_NE(m.find("one.rules:5: rule a: unknown severity 'bad'"), std::string::npos) << m;
  EXPECT_NE(m.find("two.rules:2: rule b: bad regex '('"), std::string::npos) << m;
}

TEST(TermLists, HeaderlessListTakesCategoryFromLoader) {
  DictionarySource src = DictionarySource::Text("shop/extra words.txt", "最牛\n史上最强\t客观描述\n\n# comment\n");
  src.kind = DictionarySource::Kind::kTermList;
  src.category = "ad_law";
  src.severity = Severity::kBlock;
  auto f = Filter::FromDictionaries({src});
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ((*f)->rules().size(), 2u);
  const Rule* r = (*f)->FindRule("extra_words.2");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->category, "ad_law");
  EXPECT_EQ(r->severity, Severity::kBlock);
  ASSERT_EQ(r->suggestions.size(), 1u);
  EXPECT_EQ(r->suggestions[0], "客观描述");
  EXPECT_EQ(r->line, 2u);
  auto scanner = Scanner::Create(*f);
  auto fs = scanner->Scan("这是史 上 最 强的");
  ASSERT_TRUE(fs.ok());
  ASSERT_EQ(fs->size(), 1u);
  EXPECT_EQ((*fs)[0].rule->id, "extra_words.2");
  EXPECT_EQ((*fs)[0].text, "史 上 最 强");
}

TEST(TermLists, HeaderDeclaresNewCategory) {
  auto f = Filter::FromDictionaries({DictionarySource::Text(
      "brand.terms",
      "%format scriptqa-terms 1\n%category brand\n%severity advice\n%reason 竞品名称\n%suggest 其他品牌\n竞品甲\n")});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->rules()[0].id, "brand.6");
  EXPECT_EQ((*f)->rules()[0].reason, "竞品名称");
  const auto& cats = (*f)->categories();
  EXPECT_NE(std::find(cats.begin(), cats.end(), "brand"), cats.end());
}

TEST(TermLists, WithoutCategoryIsAnError) {
  DictionarySource src = DictionarySource::Text("plain.txt", "最牛\n");
  auto f = Filter::FromDictionaries({src});
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("plain.txt:1: rule plain.1: term list without a category"),
            absl::string_view::npos)
      << f.status();
}

constexpr char kTwoRules[] =
    "%format scriptqa-rules 1\n%default category ad_law\n%default severity review\n"
    "rule a.best\n  literal 最佳\n  reason r\n"
    "rule a.first\n  literal 第一\n  reason r\n";

TEST(FilterOptions, SeverityOverridesRuleWinsOverCategory) {
  FilterOptions o;
  o.severity_overrides = {{"a.first", Severity::kAdvice}, {"ad_law", Severity::kBlock}};
  auto f = Filter::FromDictionaries({DictionarySource::Text("t.rules", kTwoRules)}, o);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->FindRule("a.best")->severity, Severity::kBlock);
  EXPECT_EQ((*f)->FindRule("a.first")->severity, Severity::kAdvice);
}

TEST(FilterOptions, DisabledRulesAreLeftOut) {
  FilterOptions o;
  o.disabled_rules = {"a.best"};
  auto f = Filter::FromDictionaries({DictionarySource::Text("t.rules", kTwoRules)}, o);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->FindRule("a.best"), nullptr);
  EXPECT_NE((*f)->FindRule("a.first"), nullptr);
}

TEST(FilterOptions, UnknownTargetsAreErrors) {
  FilterOptions o;
  o.disabled_rules = {"no.such"};
  o.severity_overrides = {{"nor.this", Severity::kBlock}};
  auto f = Filter::FromDictionaries({DictionarySource::Text("t.rules", kTwoRules)}, o);
  ASSERT_FALSE(f.ok());
  std::string m(f.status().message());
  EXPECT_NE(m.find("disabled_rules: no rule or category 'no.such'"), std::string::npos) << m;
  EXPECT_NE(m.find("severity_overrides: no rule or category 'nor.this'"), std::string::npos) << m;
}

TEST(Dictionaries, BomAndCrlfAreAccepted) {
  std::string text =
      "\xEF\xBB\xBF%format scriptqa-rules 1\r\n%default category ad_law\r\n%default severity "
      "review\r\nrule a.x\r\n  literal 顶级\r\n  reason r\r\n";
  auto f = Filter::FromDictionaries({DictionarySource::Text("crlf.rules", text)});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->FindRule("a.x")->literals[0], "顶级");
}

TEST(Dictionaries, EscapedBarInTermList) {
  std::string text =
      "%format scriptqa-rules 1\n%default category ad_law\n%default severity review\n"
      "rule a.x\n  literal 甲\\|乙 | 丙\n  reason r\n";
  auto f = Filter::FromDictionaries({DictionarySource::Text("t.rules", text)});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->FindRule("a.x")->literals, (std::vector<std::string>{"甲|乙", "丙"}));
}

}  // namespace
}  // namespace scriptqa
