#include <gtest/gtest.h>

#include "scriptqa/scanner.h"

namespace scriptqa {
namespace {

constexpr char kRules[] = R"(%format scriptqa-rules 1
%default category off_platform
%default severity block
rule off_platform.wechat
  literal 加微信
  suggest 在平台内联系
  reason 引导站外交易
  negate 不能
)";

TEST(Smoke, FindsEvasion) {
  auto filter = Filter::FromDictionaries({DictionarySource::Text("mem.rules", kRules)});
  ASSERT_TRUE(filter.ok()) << filter.status();
  auto scanner = Scanner::Create(*filter);
  ASSERT_TRUE(scanner.ok()) << scanner.status();
  std::string msg = "亲，加 微-信 吧";
  auto findings = scanner->Scan(msg);
  ASSERT_TRUE(findings.ok()) << findings.status();
  ASSERT_EQ(findings->size(), 1u);
  EXPECT_EQ((*findings)[0].text, "加 微-信");
  EXPECT_EQ((*findings)[0].chars.begin, 2u);
  EXPECT_EQ((*findings)[0].chars.end, 7u);
  auto none = scanner->Scan("不能加微信的哦");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace scriptqa
