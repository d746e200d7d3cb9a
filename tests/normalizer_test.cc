// Normalisation through the public API (Filter::Normalize): the text the matcher sees.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>
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
      {"pinyin tone marks and accents", "zuì dī WĒIXÌN Café ǚ", "zuidiweixincafeu"},
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

// Nonspacing marks (Mn) are noise after Han, kana, Hangul and Bopomofo, after noise and at the
// start of the text; after any other character they are kept. Without skip_noise, or when the
// mark is significant, they are kept everywhere.
TEST(Normalize, CombiningMarksAfterMarkFreeScriptsAreNoise) {
  const Case cases[] = {
      {"after Han", "加\u0338微\u0337信", "加微信"},
      {"several after Han", "加\u0301\u0308\u0323微信", "加微信"},
      {"after kana, Hangul, Bopomofo", "あ\u0301カ\u0302한\u0303ㄅ\u0304", "あカ한ㄅ"},
      {"after noise", "a \u0301b", "ab"},
      {"after a removed zero-width character", "e\u200b\u0301", "e"},
      {"at the start", "\u0301\u0302a", "a"},
      {"after Latin (kept)", "Cafe\u0301 e\u0301\u0302", "cafe\u0301e\u0301\u0302"},
      {"after full-width Latin (kept)", "\uff45\u0301", "e\u0301"},
      {"after a digit (kept)", "1\u20e3", "1"},  // U+20E3 is enclosing (Me): always removed
      {"after a digit, nonspacing (kept)", "1\u0301", "1\u0301"},
      {"after Greek, Cyrillic (kept)", "\u03b1\u0301\u0438\u0306", "\u03b1\u0301\u0438\u0306"},
      {"Thai and Devanagari (kept)", "สวัสดี नमस्ते", "สวัสดีनमस्ते"},
      {"after a kept mark (kept)", "e\u0301\u0302\u0303", "e\u0301\u0302\u0303"},
      {"Han then Latin", "微\u0301e\u0301", "微e\u0301"},
      {"folding mark after Han", "微\u0345信", "微信"},
      {"folding mark after Latin", "e\u0345", "e\u03b9"},
      // Characters that become marks only are decided like marks (the fuzz target `normalize`
      // found "\u02d8K" -> "\u0306k", which normalised again to "k").
      {"U+02D8 BREVE at the start", "\u02d8K", "k"},
      {"U+02D8 BREVE after Han", "微\u02d8信", "微信"},
      {"U+02D8 BREVE after Latin (as before)", "e\u02d8", "e\u0306"},
      // A carrier is judged by what it becomes: U+3231 becomes Han.
      {"after a character that becomes Han", "\u3231\u0301", "株"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Norm(c.in), c.out) << c.what;
    EXPECT_EQ(Norm(Norm(c.in)), Norm(c.in)) << c.what << ": not idempotent";
  }
  NormalizationOptions keep;
  keep.skip_noise = false;
  EXPECT_EQ(Norm("加\u0338微", keep), "加\u0338微");
  NormalizationOptions significant;
  significant.significant = "%@\u0338";
  EXPECT_EQ(Norm("加\u0338微\u0337", significant), "加\u0338微");
  // Long texts take the fast paths; a mark far from the start still looks at its own carrier.
  std::string longer(300, 'a');
  EXPECT_EQ(Norm(longer + "微\u0301" + longer + "e\u0301"), longer + "微" + longer + "e\u0301");
}

TEST(Normalize, OptionsSwitchStepsOff) {
  NormalizationOptions n;
  n.traditional_to_simplified = false;
  EXPECT_EQ(Norm("絕對 ＡＢ", n), "絕對ab");
  n = {};
  n.fold_case = false;
  EXPECT_EQ(Norm("VX ＡＢ", n), "VXAB");
  EXPECT_EQ(Norm("zuì", n), "zuì");
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

// Every code point, in every context a nonspacing mark looks at (the start of the text, after
// Han, after Latin, after noise) and followed by a mark: normalising twice gives what normalising
// once gave. (The fuzz target `normalize` found U+0EB3 -> U+0ECD U+0EB2, a mark then a letter,
// kept whole at the start of a text and losing its mark on the second pass; and before it U+02D8.)
TEST(Normalize, IsIdempotentForEveryCodePointInEveryMarkContext) {
  auto utf8 = [](uint32_t cp) {
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
  };
  NormalizationOptions no_t2s, extra;
  no_t2s.traditional_to_simplified = false;
  extra.extra_noise = "的";
  for (const NormalizationOptions& options : {NormalizationOptions{}, no_t2s, extra}) {
    FilterOptions o;
    o.normalization = options;
    std::shared_ptr<const Filter> f = testing::FilterFromText(kRule, o);
    auto idempotent = [&](const std::string& text) {
      const std::string once = f->Normalize(text);
      return f->Normalize(once) == once;
    };
    // One text per code point and context: alone at the start, then after Han, after Latin and
    // after noise (U+200B), each followed by a mark.
    auto contexts = [&](uint32_t cp) {
      const std::string c = utf8(cp);
      return std::vector<std::string>{c + "\u0301", "加" + c + "\u0301", "e" + c + "\u0301",
                                      "\u200b" + c + "\u0301"};
    };
    int failures = 0;
    constexpr uint32_t kChunk = 512;
    for (uint32_t lo = 0; lo < 0x110000 && failures < 5; lo += kChunk) {
      // The three mid-text contexts of a chunk of code points in one text (each context starts
      // afresh: the mark before it is kept after Latin, so "加" starts a new carrier), and the
      // start of the text one code point at a time.
      std::string chunk;
      bool ok = true;
      for (uint32_t cp = lo; cp < lo + kChunk; ++cp) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        const std::vector<std::string> t = contexts(cp);
        chunk += t[1] + t[2] + t[3];
        ok = ok && idempotent(t[0]);
      }
      if (ok && idempotent(chunk)) continue;
      for (uint32_t cp = lo; cp < lo + kChunk && failures < 5; ++cp) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        for (const std::string& t : contexts(cp)) {
          if (idempotent(t)) continue;
          ++failures;
          ADD_FAILURE() << "U+" << std::hex << cp << " in \"" << t << "\": once \""
                        << f->Normalize(t) << "\", twice \"" << f->Normalize(f->Normalize(t))
                        << "\"";
          break;
        }
      }
      if (failures == 0) ADD_FAILURE() << "chunk from U+" << std::hex << lo << " not idempotent";
    }
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

// Normalisers with equal options share their tables (a process-wide cache of the last 16 option
// sets, lib/normalizer.cc). Sharing must never be visible: every filter normalises by its own
// options, whichever filter built the tables, after its options were evicted from the cache and
// rebuilt, and when filters are loaded and used from two threads at once.
struct OptionCase {
  NormalizationOptions options;
  std::string expected;  // Norm of kOptionText under `options`
};

constexpr char kOptionText[] = "加 的微-信 ＡＢ 絕對 100% 加加";

std::vector<OptionCase> OptionCases() {
  std::vector<OptionCase> cases;
  cases.push_back({NormalizationOptions{}, "加的微信ab绝对100%加加"});
  NormalizationOptions n;
  n.skip_noise = false;
  cases.push_back({n, "加 的微-信 ab 绝对 100% 加加"});
  n = {};
  n.collapse_repeats = true;  // same table as the defaults, different normaliser
  cases.push_back({n, "加的微信ab绝对10%加"});
  n = {};
  n.traditional_to_simplified = false;
  n.fold_case = false;
  cases.push_back({n, "加的微信AB絕對100%加加"});
  // More option sets than the cache holds: extra noise characters that do not occur in the
  // text (their tables differ, the output does not), then one that does.
  const char* const extra[] = {"甲", "乙", "丙", "丁", "戊", "己", "庚", "辛", "壬", "癸",
                               "子", "丑", "寅", "卯", "辰", "巳", "午", "未"};
  for (const char* e : extra) {
    n = {};
    n.extra_noise = e;
    cases.push_back({n, "加的微信ab绝对100%加加"});
  }
  n = {};
  n.extra_noise = "的";
  n.significant = "";
  cases.push_back({n, "加微信ab绝对100加加"});
  return cases;
}

std::shared_ptr<const Filter> FilterWith(const NormalizationOptions& n) {
  FilterOptions o;
  o.normalization = n;
  return testing::FilterFromText(kRule, o);
}

TEST(Normalize, FiltersWithEqualOrDifferentOptionsNormaliseByTheirOwn) {
  const std::vector<OptionCase> cases = OptionCases();
  ASSERT_GT(cases.size(), 16u);
  // Two filters per option set, built in turn with every other set in between, so that later
  // ones find their tables in the cache or, past 16 sets, evicted and rebuilt.
  std::vector<std::shared_ptr<const Filter>> first, second;
  for (const OptionCase& c : cases) first.push_back(FilterWith(c.options));
  for (const OptionCase& c : cases) second.push_back(FilterWith(c.options));
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(first[i]->Normalize(kOptionText), cases[i].expected) << i;
    EXPECT_EQ(second[i]->Normalize(kOptionText), cases[i].expected) << i;
    EXPECT_EQ(second[i]->info().rules_hash, first[i]->info().rules_hash) << i;
    if (i > 0) EXPECT_NE(first[i]->info().rules_hash, first[0]->info().rules_hash) << i;
  }
  // A filter outlives its options' cache entry; a serialized filter loads with shared tables.
  first.clear();
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(second[i]->Normalize(kOptionText), cases[i].expected) << i;
    absl::StatusOr<std::string> blob = second[i]->Serialize();
    ASSERT_TRUE(blob.ok()) << blob.status();
    absl::StatusOr<std::shared_ptr<const Filter>> back = Filter::Deserialize(*blob);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ((*back)->Normalize(kOptionText), cases[i].expected) << i;
  }
}

TEST(Normalize, FiltersLoadedConcurrentlyNormaliseByTheirOwnOptions) {
  const std::vector<OptionCase> cases = OptionCases();
  // Both threads walk all option sets (the second in reverse), loading a filter and normalising
  // with it, so they build, find and evict cache entries at the same time.
  std::vector<std::string> failures[2];
  auto work = [&](int t) {
    for (size_t k = 0; k < cases.size(); ++k) {
      const size_t i = t == 0 ? k : cases.size() - 1 - k;
      std::shared_ptr<const Filter> f = FilterWith(cases[i].options);
      const std::string got = f->Normalize(kOptionText);
      if (got != cases[i].expected)
        failures[t].push_back("case " + std::to_string(i) + ": " + got);
    }
  };
  std::thread other(work, 1);
  work(0);
  other.join();
  EXPECT_TRUE(failures[0].empty()) << failures[0].front();
  EXPECT_TRUE(failures[1].empty()) << failures[1].front();
}

}  // namespace
}  // namespace scriptqa
