// Filter::Validate: every check FromDictionaries makes before compiling, with the same status,
// and no compilation.
#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "scriptqa/filter.h"
#include "test_util.h"

namespace scriptqa {
namespace {

using testing::ReadFileOrDie;
using testing::SplitLines;

constexpr char kHeader[] =
    "%format scriptqa-rules 1\n%default category ad_law\n%default severity review\n";

std::vector<std::string> DefaultPackPaths() {
  std::vector<std::string> paths;
  const std::string dir = SCRIPTQA_DICTIONARY_DIR;
  DIR* d = opendir(dir.c_str());
  if (!d) return paths;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() > 6 && name.compare(name.size() - 6, 6, ".rules") == 0)
      paths.push_back(dir + "/" + name);
  }
  closedir(d);
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::vector<DictionarySource> Files(const std::vector<std::string>& paths) {
  std::vector<DictionarySource> sources;
  for (const std::string& p : paths) sources.push_back(DictionarySource::File(p));
  return sources;
}

// Validate's status must equal FromDictionaries' status: code and message.
void ExpectSameStatus(absl::Span<const DictionarySource> sources, const FilterOptions& options,
                      const std::string& what) {
  SCOPED_TRACE(what);
  const absl::Status validated = Filter::Validate(sources, options);
  const absl::StatusOr<std::shared_ptr<const Filter>> built =
      Filter::FromDictionaries(sources, options);
  EXPECT_EQ(validated, built.status());
}

TEST(Validate, DefaultPacksPass) {
  const std::vector<std::string> paths = DefaultPackPaths();
  ASSERT_FALSE(paths.empty()) << SCRIPTQA_DICTIONARY_DIR;
  EXPECT_TRUE(Filter::Validate(Files(paths)).ok()) << Filter::Validate(Files(paths));
  // With options naming existing rules and categories, and other normalisation.
  FilterOptions o;
  o.severity_overrides.push_back({"ad_law", Severity::kBlock});
  o.disabled_rules.push_back("deflection");
  o.normalization.collapse_repeats = true;
  EXPECT_TRUE(Filter::Validate(Files(paths), o).ok()) << Filter::Validate(Files(paths), o);
  // In memory as well as from files.
  std::vector<DictionarySource> texts;
  for (const std::string& p : paths) texts.push_back(DictionarySource::Text(p, ReadFileOrDie(p)));
  EXPECT_TRUE(Filter::Validate(texts).ok());
}

// "\xNN" in the table stands for a raw byte (as in dictionary_test).
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x') {
      out += static_cast<char>(std::stoi(s.substr(i + 2, 2), nullptr, 16));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The bad-dictionary table (tests/testdata/bad_dictionaries.txt, also read by dictionary_test):
// every case fails with exactly FromDictionaries' status.
TEST(Validate, EveryBadDictionaryGivesFromDictionariesStatus) {
  std::vector<std::pair<std::string, std::string>> cases;  // name, text
  bool in_text = false;
  for (const std::string& line :
       SplitLines(ReadFileOrDie(std::string(SCRIPTQA_TESTDATA_DIR) + "/bad_dictionaries.txt"))) {
    if (line.rfind("=== ", 0) == 0) {
      cases.emplace_back(line.substr(4), "");
      in_text = true;
    } else if (line == "--- errors") {
      in_text = false;
    } else if (in_text) {
      cases.back().second += Unescape(line) + "\n";
    }
  }
  ASSERT_GE(cases.size(), 12u);
  for (const auto& [name, text] : cases) {
    for (DictionarySource::Kind kind : {DictionarySource::Kind::kRules,
                                        DictionarySource::Kind::kAuto}) {
      DictionarySource src = DictionarySource::Text("case.rules", text);
      src.kind = kind;
      EXPECT_FALSE(Filter::Validate({src}).ok()) << name;
      ExpectSameStatus({src}, {}, name);
    }
  }
}

TEST(Validate, EachKindOfErrorGivesFromDictionariesStatus) {
  const std::string good = std::string(kHeader) + "rule a.best\n  literal 最佳\n  reason r\n";
  const DictionarySource good_src = DictionarySource::Text("good.rules", good);
  FilterOptions none;

  ExpectSameStatus({}, none, "no sources");
  ExpectSameStatus({DictionarySource::File("/nonexistent/x.rules")}, none, "missing file");
  ExpectSameStatus({DictionarySource::File("/nonexistent/x.rules"), good_src}, none,
                   "missing file beside a good one");
  ExpectSameStatus({DictionarySource::Text("empty.rules", "# only a comment\n")}, none,
                   "no rules");
  ExpectSameStatus({DictionarySource::Text("a.rules", good), DictionarySource::Text("b.rules", good)},
                   none, "duplicate id across files");
  ExpectSameStatus({DictionarySource::Text("one.rules", "%format scriptqa-rules 1\nrule a\n  literal x\n"
                                                        "  reason r\n  severity bad\n"),
                    DictionarySource::Text("two.rules", "%format scriptqa-rules 1\nrule b\n  regex (\n"
                                                        "  reason r\n  category ad_law\n  severity block\n")},
                   none, "errors of two files");
  ExpectSameStatus({DictionarySource::Text("c.rules", std::string(kHeader) +
                                                          "%category shop_words\n"
                                                          "rule a.x\n  literal 顶级\n  category shop_words\n  reason r\n")},
                   none, "declared category (valid)");

  FilterOptions bad_override;
  bad_override.severity_overrides.push_back({"no_such_rule", Severity::kBlock});
  ExpectSameStatus({good_src}, bad_override, "severity_overrides target");
  FilterOptions bad_disabled;
  bad_disabled.disabled_rules.push_back("nosuch.rule");
  ExpectSameStatus({good_src}, bad_disabled, "disabled_rules target");
  FilterOptions all_disabled;
  all_disabled.disabled_rules.push_back("a.best");
  ExpectSameStatus({good_src}, all_disabled, "every rule disabled");
  EXPECT_EQ(Filter::Validate({good_src}, all_disabled),
            absl::InvalidArgumentError("the dictionaries define no rules"));

  for (const char* regex : {"(", "(a)\\1", "a?", "a+b", ".*ab", "[0-9]{1,65535}x"}) {
    ExpectSameStatus({DictionarySource::Text("r.rules", std::string(kHeader) + "rule a.re\n  regex " +
                                                            regex + "\n  reason r\n")},
                     none, std::string("regex ") + regex);
  }
  // Term lists: without a category, with a noise-only term.
  DictionarySource terms = DictionarySource::Text("shop.txt", "最牛\n");
  terms.kind = DictionarySource::Kind::kTermList;
  ExpectSameStatus({terms}, none, "term list without a category");
  terms.category = "ad_law";
  terms.content = "最牛\n！！\n";
  ExpectSameStatus({terms}, none, "term list with a noise-only term");
  // A disabled rule's regex is still checked, and only kept rules must have patterns checked
  // by the engine: the same either way.
  FilterOptions disable_re;
  disable_re.disabled_rules.push_back("a.re");
  ExpectSameStatus({DictionarySource::Text("r.rules", std::string(kHeader) +
                                                          "rule a.re\n  regex a+b\n  reason r\n" +
                                                          "rule a.ok\n  literal 最佳\n  reason r\n")},
                   disable_re, "disabled rule with an unbounded regex");
  // Normalisation options change what a literal normalises to.
  FilterOptions keep_noise;
  keep_noise.normalization.skip_noise = false;
  ExpectSameStatus({DictionarySource::Text("n.rules", std::string(kHeader) +
                                                          "rule a.n\n  literal ！！\n  reason r\n")},
                   keep_noise, "noise-only literal kept by skip_noise = false");
}

// Validate stops where the engine begins: dictionaries the engine refuses to compile pass it,
// and only FromDictionaries reports them (filter.h).
TEST(Validate, DoesNotCompile) {
  const std::vector<std::pair<std::string, std::string>> engine_only = {
      {"literal too long", "rule a.long\n  literal " + std::string(17000, 'a') + "\n  reason r\n"},
      {"regex too large for start of match", "rule a.re\n  regex [0-9]{1,1000}x\n  reason r\n"},
  };
  for (const auto& [what, rules] : engine_only) {
    SCOPED_TRACE(what);
    const std::vector<DictionarySource> src = {
        DictionarySource::Text("big.rules", std::string(kHeader) + rules)};
    EXPECT_TRUE(Filter::Validate(src).ok()) << Filter::Validate(src);
    const absl::StatusOr<std::shared_ptr<const Filter>> built = Filter::FromDictionaries(src);
    ASSERT_FALSE(built.ok());
    EXPECT_EQ(built.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(built.status().message().find("big.rules:4: rule "), absl::string_view::npos)
        << built.status();
    EXPECT_NE(built.status().message().find("engine rejected"), absl::string_view::npos)
        << built.status();
  }
}

}  // namespace
}  // namespace scriptqa
