// Normalisation through the public API (Filter::Normalize): the text the matcher sees.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "scriptqa/filter.h"
#include "scriptqa/scanner.h"
#include "test_util.h"

namespace scriptqa {
namespace {

constexpr char kRule[] =
    "%format scriptqa-rules 1\n%default category ad_law\n%default severity review\n"
    "rule a.x\n  literal 顶级\n  reason r\n";

std::string Norm(std::string_view text, const NormalizationOptions& n = {}) {
  FilterOptions o;
  o.normalization = n;
  static std::shared_ptr<const Filter> def = testing::FilterFromText(kRule);
  if (n.fold_width && n.fold_case && n.traditional_to_simplified && n.skip_noise &&
      n.significant == "%@" && n.extra_noise.empty() && !n.collapse_repeats)
    return def->Normalize(text);
  return testing::FilterFromText(kRule, o)->Normalize(text);
}

struct Case {
  const char* what;
  const char* in;
  const char* out;
};

TEST(Normalize, DefaultTable) {
  const Case cases[] = {
      {"full width letters and digits", "ＡＢＣ１２３ａｂｃ", "abc123abc"},
      {"case folding", "VX QQ WeChat", "vxqqwechat"},
      {"Traditional to Simplified", "這款產品絕對是最佳選擇", "这款产品绝对是最佳选择"},
      {"Traditional, more", "微信號 聯繫 質量 後臺", "微信号联系质量后台"},
      {"standard Simplified characters of their own stay", "著名 乾隆 瞭望 狼藉 於是", "著名乾隆瞭望狼藉于是"},
      {"circled and parenthesized digits", "①②③⑴⑵⒈", "123121"},
      {"zero-width and format characters", "加\u200b微\u200c信\u200d\u2060\ufeff", "加微信"},
      {"soft hyphen and variation selectors", "加\u00ad微\ufe0f信", "加微信"},
      {"white space of every kind", "加 微\t信\u3000吧\u00a0\n", "加微信吧"},
      {"punctuation and symbols", "加，微。信！？【】《》…—￥*#~^", "加微信"},
      {"emoji, skin tones, keycaps, flags", "加😀👍🏻微1\ufe0f\u20e3信🇨🇳", "加微1信"},
      {"significant characters kept", "100%满意 a@b.com", "100%满意a@bcom"},
      {"full-width significant characters", "１００％ ａ＠ｂ", "100%a@b"},
      {"compatibility ideographs and units", "㎏ ㈱ ℡", "kg株tel"},
      {"invalid UTF-8 reads as noise", "加\xff微\xe4\xbd信", "加微信"},
      {"empty", "", ""},
  };
  for (const Case& c : cases) EXPECT_EQ(Norm(c.in), c.out) << c.what;
  // NUL and control characters are noise (tested apart: a C string stops at NUL).
  EXPECT_EQ(Norm(std::string_view("加\0微\x01信", 11)), "加微信");
}

TEST(Normalize, OptionsSwitchStepsOff) {
  NormalizationOptions n;
  n.traditional_to_simplified = false;
  EXPECT_EQ(Norm("絕對 ＡＢ", n), "絕對ab");
  n = {};
  n.fold_case = false;
  EXPECT_EQ(Norm("VX ＡＢ", n), "VXAB");
  n = {};
  n.fold_width = false;
  EXPECT_EQ(Norm("ＡＢ①", n), "ａｂ①");
  n = {};
  n.skip_noise = false;
  EXPECT_EQ(Norm("加 微-信\u200b", n), "加 微-信");
  n = {};
  n.significant = "";
  EXPECT_EQ(Norm("100%", n), "100");
  n = {};
  n.extra_noise = "的";
  EXPECT_EQ(Norm("加的微的信", n), "加微信");
  n = {};
  n.collapse_repeats = true;
  EXPECT_EQ(Norm("加加 微微微-信信", n), "加微信");
}

TEST(Normalize, IsIdempotent) {
  const char* samples[] = {"這款產品絕對是最佳選擇！", "ＡＢＣ①②", "加 微-信😀", "100% a@b.com"};
  for (const char* s : samples) {
    std::string once = Norm(s);
    EXPECT_EQ(Norm(once), once) << s;
  }
}

TEST(Normalize, OutputIsAlwaysValidUtf8) {
  // Every byte value, alone and inside text.
  std::shared_ptr<const Filter> f = testing::FilterFromText(kRule);
  for (int b = 0; b < 256; ++b) {
    std::string in = "加" + std::string(1, static_cast<char>(b)) + "信";
    std::string out = f->Normalize(in);
    // Re-normalising valid output must give the same output (valid UTF-8 passes unchanged).
    EXPECT_EQ(f->Normalize(out), out) << b;
  }
}

// Normalisation is character by character (without collapse_repeats), so normalising a text must
// equal normalising its characters one by one. Random texts over an alphabet that exercises every
// path of the normaliser: the fast inner loop (kept and removed ASCII and three-byte characters),
// replaced and expanded characters, two- and four-byte characters, ill-formed sequences that the
// fast loop must hand over (overlong, surrogate, stray bytes), and texts ending inside a
// character. The same must hold on the path that records offsets (Explain, with a hit).
TEST(Normalize, WholeTextEqualsCharacterByCharacter) {
  const std::vector<std::string> alphabet = {
      "a", "Z", "7", "@", " ", "?", "-", "\t",              // ASCII kept / folded / removed
      "一", "微", "信", "，", "。", "！", "\u3000",          // CJK kept, CJK punctuation removed
      "這", "號", "Ａ", "１", "①", "㈱", "\ufdfa", "㍻",     // replaced / expanded
      "é", "Ω", "ß", "\u0130", "😀", "𠀀",                   // 2- and 4-byte
      "\u200b", "\ufeff", "\ufffd",                          // removed format characters, U+FFFD
      "\xe0\x80\x80", "\xed\xa0\x80", "\xc0\xaf", "\xff",    // ill-formed: overlong, surrogate, stray
      "\xef\xbf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80"};  // edges of the 3-byte range
  const std::vector<std::string> endings = {"", "\xe4\xb8", "\xe4", "\xf0\x9f\x98"};  // truncated
  std::shared_ptr<const Filter> f = testing::FilterFromText(
      "%format scriptqa-rules 1\n%default category ad_law\n%default severity review\n"
      "rule a.x\n  literal 顶级\n  reason r\n");
  auto scanner = Scanner::Create(f);
  ASSERT_TRUE(scanner.ok());
  std::mt19937 rng(20261122);
  for (int round = 0; round < 3000; ++round) {
    std::string text, expected;
    const size_t n = rng() % 40;
    for (size_t i = 0; i < n; ++i) {
      const std::string& t = alphabet[rng() % alphabet.size()];
      text += t;
      expected += f->Normalize(t);
    }
    const std::string& ending = endings[rng() % endings.size()];
    text += ending;
    expected += f->Normalize(ending);
    ASSERT_EQ(f->Normalize(text), expected) << testing::PrintableBytes(text);
    // With a hit, the offset-recording path produces the text the engine saw.
    const std::string with_hit = text + "顶级";
    auto e = scanner->Explain(with_hit);
    ASSERT_TRUE(e.ok());
    ASSERT_EQ(e->normalized, expected + "顶级") << testing::PrintableBytes(text);
  }
}

}  // namespace
}  // namespace scriptqa
