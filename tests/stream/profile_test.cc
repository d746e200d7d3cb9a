// Per-shop configuration (scriptqa::Profile): each option, their interplay, the errors, the
// decisions Explain() reports, and that a profile changes nothing it should not.
#include <gtest/gtest.h>

#include <deque>
#include <random>

#include "scriptqa/scanner.h"
#include "test_util.h"

namespace scriptqa {
namespace {

constexpr char kRules[] = R"(%format scriptqa-rules 1
%category health_claims 功效宣称
%default severity review

rule ad_law.best
  category ad_law
  literal 最佳 | 最好
  reason 绝对化用语
  suggest 品质出众的

rule ad_law.lowest
  category ad_law
  literal 全网最低
  reason 绝对化用语

rule off_platform.wechat
  category off_platform
  severity block
  literal 加微信 | 加薇信
  reason 引导站外联系

rule deflection.dunno
  category deflection
  literal 不知道
  reason 推诿

rule health.cure
  category health_claims
  severity block
  literal 根治
  reason 功效宣称

rule script_quality.cannot
  category script_quality
  severity advice
  literal 我们不能
  reason 负面表述
)";

std::shared_ptr<const Filter> TestFilter() {
  static auto f = testing::FilterFromText(kRules);
  return f;
}

std::string Ids(const std::vector<Finding>& fs) {
  std::string s;
  for (const Finding& f : fs)
    s += std::string(f.rule_id()) + ":" + std::string(SeverityName(f.severity)) + ";";
  return s;
}

std::vector<Finding> ScanWith(const ProfileOptions& po, const std::string& text,
                              ScanOptions so = {}) {
  auto profile = Profile::Create(TestFilter(), po);
  EXPECT_TRUE(profile.ok()) << profile.status();
  if (!profile.ok()) return {};
  // Findings of deny terms point to the profile's rule, and every finding's `text` views the
  // scanned message: keep both alive (callers pass temporaries; ASan caught the dangling view).
  static auto* keep = new std::vector<std::shared_ptr<const Profile>>();
  keep->push_back(*profile);
  static auto* texts = new std::deque<std::string>();
  texts->push_back(text);
  static auto* scanner = new Scanner(*Scanner::Create(TestFilter()));
  so.profile = profile->get();
  auto fs = scanner->Scan(texts->back(), so);
  EXPECT_TRUE(fs.ok()) << fs.status();
  return fs.ok() ? *fs : std::vector<Finding>{};
}

const std::string kAll = "最佳的全网最低价，加微信，不知道，可以根治，我们不能退";

TEST(Profile, EmptyProfileChangesNothing) {
  auto scanner = Scanner::Create(TestFilter());
  ASSERT_TRUE(scanner.ok());
  auto plain = scanner->Scan(kAll);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(Ids(ScanWith({}, kAll)), Ids(*plain));
  EXPECT_EQ(Ids(*plain),
            "ad_law.best:review;ad_law.lowest:review;off_platform.wechat:block;"
            "deflection.dunno:review;health.cure:block;script_quality.cannot:advice;");
}

TEST(Profile, EnabledCategoriesKeepOnlyThose) {
  ProfileOptions po;
  po.enabled_categories = {"off_platform", "health_claims"};
  EXPECT_EQ(Ids(ScanWith(po, kAll)), "off_platform.wechat:block;health.cure:block;");
}

TEST(Profile, DisabledRulesAndCategories) {
  ProfileOptions po;
  po.disabled = {"ad_law.best", "deflection"};
  EXPECT_EQ(Ids(ScanWith(po, kAll)),
            "ad_law.lowest:review;off_platform.wechat:block;health.cure:block;"
            "script_quality.cannot:advice;");
  // Disabled wins over enabled.
  po.enabled_categories = {"ad_law"};
  EXPECT_EQ(Ids(ScanWith(po, kAll)), "ad_law.lowest:review;");
}

TEST(Profile, SeverityOverridesRuleBeatsCategory) {
  ProfileOptions po;
  po.severity_overrides = {{"ad_law.best", Severity::kAdvice}, {"ad_law", Severity::kBlock}};
  auto fs = ScanWith(po, "最佳的全网最低价");
  EXPECT_EQ(Ids(fs), "ad_law.best:advice;ad_law.lowest:block;");
  // The rule itself is unchanged: the override lives in the finding.
  EXPECT_EQ(TestFilter()->FindRule("ad_law.best")->severity, Severity::kReview);
  // With a threshold the override decides.
  ScanOptions so;
  so.min_severity = Severity::kReview;
  EXPECT_EQ(Ids(ScanWith(po, "最佳的全网最低价", so)), "ad_law.lowest:block;");
}

TEST(Profile, AllowTermsSuppressWhatTheyCoverAndNothingElse) {
  ProfileOptions po;
  po.allow_terms = {"最佳拍档", "微信支付"};  // shop vocabulary
  EXPECT_EQ(Ids(ScanWith(po, "我们是最佳拍档")), "");
  EXPECT_EQ(Ids(ScanWith(po, "我们是最佳选择")), "ad_law.best:review;");
  // Normalised like messages: spaces and full width do not defeat the allow-list.
  EXPECT_EQ(Ids(ScanWith(po, "我们是 最 佳 拍 档")), "");
  // An allow term does not cover a hit it only overlaps.
  po.allow_terms = {"佳拍"};
  EXPECT_EQ(Ids(ScanWith(po, "我们是最佳拍档")), "ad_law.best:review;");
  auto scanner = Scanner::Create(TestFilter());
  auto profile = Profile::Create(TestFilter(), ProfileOptions{{}, {}, {}, {"最佳拍档"}, {}});
  ASSERT_TRUE(profile.ok());
  ScanOptions so;
  so.profile = profile->get();
  auto e = scanner->Explain("我们是最佳拍档", so);
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->traces.size(), 1u);
  EXPECT_EQ(e->traces[0].decision, Decision::kProfileAllowed);
  EXPECT_NE(e->traces[0].detail.find("最佳拍档"), std::string::npos);
}

TEST(Profile, DenyTermsAreNormalisedAndConfigurable) {
  ProfileOptions po;
  po.deny_terms = {"拼多多", "ＰＤＤ"};
  auto fs = ScanWith(po, "这个在拼 多-多上更便宜，pdd也有");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].rule_id(), "shop.shop_deny");
  EXPECT_EQ(fs[0].text, "拼 多-多");
  EXPECT_EQ(fs[0].severity, Severity::kReview);
  EXPECT_EQ(fs[0].reason(), "店铺自定义禁用词");
  EXPECT_EQ(fs[1].text, "pdd");
  po.deny_category = "competitor";
  po.deny_severity = Severity::kBlock;
  po.deny_reason = "不得提及竞品平台";
  fs = ScanWith(po, "拼多多");
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].rule_id(), "competitor.shop_deny");
  EXPECT_EQ(fs[0].category(), "competitor");
  EXPECT_EQ(fs[0].severity, Severity::kBlock);
  EXPECT_EQ(fs[0].reason(), "不得提及竞品平台");
  // Deny terms overlap filter rules independently (their own category).
  po.deny_terms = {"最佳"};
  EXPECT_EQ(Ids(ScanWith(po, "最佳")), "ad_law.best:review;competitor.shop_deny:block;");
  // The allow-list applies to deny terms too.
  po.allow_terms = {"最佳拍档"};
  EXPECT_EQ(Ids(ScanWith(po, "最佳拍档")), "");
}

TEST(Profile, InvalidOptionsAreReportedTogether) {
  ProfileOptions po;
  po.enabled_categories = {"no_such_category"};
  po.disabled = {"no.such.rule"};
  po.severity_overrides = {{"nothing.here", Severity::kBlock}};
  po.allow_terms = {"  ，。 "};
  po.deny_terms = {"\u200b"};
  auto p = Profile::Create(TestFilter(), po);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(p.status().message());
  for (const char* part : {"no_such_category", "no.such.rule", "nothing.here", "allow_terms",
                           "deny_terms"})
    EXPECT_NE(msg.find(part), std::string::npos) << part << " missing in: " << msg;
  EXPECT_EQ(Profile::Create(nullptr, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Profile, MustBelongToTheScannersFilter) {
  auto other = testing::FilterFromText(kRules);
  auto profile = Profile::Create(other, {});
  ASSERT_TRUE(profile.ok());
  auto scanner = Scanner::Create(TestFilter());
  ScanOptions so;
  so.profile = profile->get();
  EXPECT_EQ(scanner->Scan("最佳", so).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Profile, DisabledDecisionIsExplained) {
  ProfileOptions po;
  po.disabled = {"ad_law"};
  auto profile = Profile::Create(TestFilter(), po);
  ASSERT_TRUE(profile.ok());
  auto scanner = Scanner::Create(TestFilter());
  ScanOptions so;
  so.profile = profile->get();
  auto e = scanner->Explain("最佳", so);
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->traces.size(), 1u);
  EXPECT_EQ(e->traces[0].decision, Decision::kDisabled);
  EXPECT_TRUE(e->findings.empty());
}

// Against a reference: a profile only removes findings, changes severities and adds deny-term
// findings; it never moves or invents a filter finding.
TEST(Profile, OnlyFiltersAndReclassifies) {
  auto filter = testing::DefaultFilter();
  ProfileOptions po;
  po.disabled = {"script_quality", "ad_law.best"};
  po.severity_overrides = {{"review", Severity::kBlock}};
  po.allow_terms = {"最好的服务"};
  auto profile = Profile::Create(filter, po);
  ASSERT_TRUE(profile.ok()) << profile.status();
  auto scanner = Scanner::Create(filter);
  std::vector<std::string> msgs = testing::CorpusAgentMessages(3000);
  for (const Rule& r : filter->rules()) msgs.insert(msgs.end(), r.hit_examples.begin(), r.hit_examples.end());
  size_t removed = 0, kept = 0;
  for (const std::string& m : msgs) {
    // Overlap::kAll: with leftmost-longest, disabling a rule can rightly let a hit it overlapped
    // through, which is not what this test is about.
    ScanOptions all;
    all.overlap = Overlap::kAll;
    auto plain = scanner->Scan(m, all);
    ScanOptions so = all;
    so.profile = profile->get();
    auto shop = scanner->Scan(m, so);
    ASSERT_TRUE(plain.ok() && shop.ok());
    for (const Finding& f : *shop) {
      bool found = false;
      for (const Finding& g : *plain)
        found |= g.rule == f.rule && g.bytes == f.bytes;
      EXPECT_TRUE(found) << "profile invented " << f.rule_id() << " in " << m;
      EXPECT_NE(f.category(), "script_quality");
      EXPECT_NE(f.rule_id(), "ad_law.best");
      if (f.category() == "review") EXPECT_EQ(f.severity, Severity::kBlock);
      ++kept;
    }
    removed += plain->size() - shop->size();
  }
  EXPECT_GT(kept, 0u);
  EXPECT_GT(removed, 0u);
}

}  // namespace
}  // namespace scriptqa
