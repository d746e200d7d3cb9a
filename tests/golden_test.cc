// The shared golden cases (tests/testdata/golden.jsonl), also read by the CLI and Python tests.
#include <gtest/gtest.h>

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

TEST(Golden, DefaultPacksGiveExactlyTheGoldenFindings) {
  auto scanner = Scanner::Create(testing::DefaultFilter());
  ASSERT_TRUE(scanner.ok());
  int cases = 0, with_findings = 0;
  for (const std::string& line : testing::SplitLines(
           testing::ReadFileOrDie(std::string(SCRIPTQA_TESTDATA_DIR) + "/golden.jsonl"))) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    // Cases with invalid UTF-8 carry the exact bytes in hex; "text" is their repaired form.
    std::string text = j.contains("text_bytes_hex") ? FromHex(j["text_bytes_hex"]) : j["text"].get<std::string>();
    SCOPED_TRACE(j["text"].get<std::string>());
    ++cases;
    auto fs = scanner->Scan(text);
    ASSERT_TRUE(fs.ok()) << fs.status();
    const auto& want = j["findings"];
    with_findings += !want.empty();
    ASSERT_EQ(fs->size(), want.size()) << scanner->Explain(text)->ToString();
    for (size_t i = 0; i < want.size(); ++i) {
      const Finding& f = (*fs)[i];
      const auto& w = want[i];
      EXPECT_EQ(f.rule_id(), w["rule"].get<std::string>());
      EXPECT_EQ(f.category(), w["category"].get<std::string>());
      EXPECT_EQ(SeverityName(f.severity), w["severity"].get<std::string>());
      EXPECT_EQ(f.bytes.begin, w["byte_start"].get<size_t>());
      EXPECT_EQ(f.bytes.end, w["byte_end"].get<size_t>());
      EXPECT_EQ(f.chars.begin, w["start"].get<size_t>());
      EXPECT_EQ(f.chars.end, w["end"].get<size_t>());
      EXPECT_EQ(f.text, w["matched"].get<std::string>());
      EXPECT_EQ(f.Suggestion(), w["suggestion"].get<std::string>());
    }
  }
  EXPECT_GE(cases, 20);
  EXPECT_GE(with_findings, 12);
}

}  // namespace
}  // namespace scriptqa
