// Scanning: spans, evasions, the confirmation stage, overlaps, profiles, rewrite, explain, misuse.
#include <array>
#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "scriptqa/scanner.h"
#include "test_util.h"

namespace scriptqa {
namespace {

using testing::ReadFileOrDie;
using testing::SplitLines;

std::shared_ptr<const Filter> CoreFilter(const FilterOptions& options) {
  return testing::FilterFromText(
      ReadFileOrDie(std::string(SCRIPTQA_TESTDATA_DIR) + "/core_test.rules"), options);
}
// The default-options filter, compiled once for the whole binary.
std::shared_ptr<const Filter> CoreFilter() {
  static std::shared_ptr<const Filter> f = CoreFilter(FilterOptions{});
  return f;
}

Scanner MakeScanner(std::shared_ptr<const Filter> f) {
  auto s = Scanner::Create(std::move(f));
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(*s);
}

std::vector<Finding> ScanOk(Scanner& s, std::string_view text, const ScanOptions& o = {}) {
  auto r = s.Scan(text, o);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : std::vector<Finding>{};
}

std::vector<std::string> Ids(const std::vector<Finding>& fs) {
  std::vector<std::string> ids;
  for (const Finding& f : fs) ids.push_back(f.rule->id);
  return ids;
}

// \xNN -> byte, \uXXXX -> UTF-8.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 'x') {
      out += static_cast<char>(std::stoi(s.substr(i + 2, 2), nullptr, 16));
      i += 3;
    } else if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 'u') {
      unsigned cp = static_cast<unsigned>(std::stoi(s.substr(i + 2, 4), nullptr, 16));
      if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      }
      i += 5;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Code points before byte offset `b`, counting each invalid byte sequence as one (test oracle:
// a simple independent count of lead bytes, valid for the inputs used here).
size_t CharsBefore(const std::string& s, size_t b) {
  size_t n = 0;
  for (size_t i = 0; i < b; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80 || c >= 0xF8) ++n;
  }
  return n;
}

TEST(Evasions, EveryFormIsCaughtWithTheOriginalSpan) {
  auto filter = CoreFilter();
  Scanner scanner = MakeScanner(filter);
  int cases = 0;
  for (const std::string& line :
       SplitLines(ReadFileOrDie(std::string(SCRIPTQA_TESTDATA_DIR) + "/evasions.tsv"))) {
    if (line.empty() || line[0] == '#' || line.rfind("form\t", 0) == 0) continue;
    std::vector<std::string> f;
    size_t start = 0;
    for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1)
      f.push_back(line.substr(start, tab - start));
    f.push_back(line.substr(start));
    ASSERT_EQ(f.size(), 4u) << line;
    const std::string rule = f[1], matched = Unescape(f[2]), message = Unescape(f[3]);
    SCOPED_TRACE(f[0] + ": " + message);
    ++cases;
    std::vector<Finding> fs = ScanOk(scanner, message);
    ASSERT_EQ(fs.size(), 1u) << scanner.Explain(message)->ToString();
    EXPECT_EQ(fs[0].rule->id, rule);
    EXPECT_EQ(std::string(fs[0].text), matched);
    size_t b = message.find(matched);
    ASSERT_NE(b, std::string::npos);
    EXPECT_EQ(fs[0].bytes.begin, b);
    EXPECT_EQ(fs[0].bytes.end, b + matched.size());
    EXPECT_EQ(fs[0].chars.begin, CharsBefore(message, b));
    EXPECT_EQ(fs[0].chars.end, CharsBefore(message, b + matched.size()));
  }
  EXPECT_GE(cases, 25);
}

// Character offsets are counted over the text before a finding in steps of 16, 8 and 1 bytes:
// exact for fillers of every length and every mix of one- to four-byte characters.
TEST(Findings, CharacterOffsetsAreExactAfterFillersOfEveryLength) {
  Scanner scanner = MakeScanner(CoreFilter());
  const std::vector<std::string> pieces = {"a", "中", "é", "😀", "7", "，", "文字", "Ｘ"};
  int compared = 0;
  for (size_t n = 0; n <= 48; ++n) {
    for (size_t rotate = 0; rotate < pieces.size(); ++rotate) {
      std::string filler;
      for (size_t k = 0; k < n; ++k) filler += pieces[(k + rotate) % pieces.size()];
      const std::string text = filler + "。加微信聊";
      SCOPED_TRACE(text);
      const std::vector<Finding> fs = ScanOk(scanner, text);
      ASSERT_EQ(fs.size(), 1u);
      const size_t b = text.size() - std::string("加微信聊").size();
      EXPECT_EQ(fs[0].bytes.begin, b);
      EXPECT_EQ(fs[0].chars.begin, CharsBefore(text, b));
      EXPECT_EQ(fs[0].chars.end, CharsBefore(text, b) + 3);
      ++compared;
    }
  }
  EXPECT_EQ(compared, 49 * 8);
}

// Whatever came before a hit (characters removed, replaced, expanded, invalid, or marks), its
// span is exact: the same findings as without the prefix, shifted by the prefix's bytes and
// characters. Each prefix ends a sentence, so it cannot change what is decided after it.
TEST(Findings, SpansStayExactAfterEveryKindOfChangeBeforeThem) {
  auto filter = CoreFilter();
  Scanner scanner = MakeScanner(filter);
  const std::vector<std::string> prefixes = {
      "。",                                    // removed, ends a clause
      "Ａｂｃ，  \t。",                         // fullwidth letters, spaces and a tab
      "這個產品。",                              // Traditional -> Simplified
      "㈱ ﷽。",                                 // one character becomes several
      "e\u0301e\u0301。",                      // combining marks kept after Latin
      "好\u0301\u0302。",                      // and removed after Han
      "\xE4\xBD\xff。",                        // invalid UTF-8
      "“引号”「括号」、《书名》……。",             // quotes and title marks
      "🙂🙂。",                                  // four-byte characters
  };
  const std::vector<std::string> messages = {"加微信聊", "这是最佳选择", "销量第一",
                                             "手机13812345678", "我的qq 123456789"};
  int compared = 0;
  for (const std::string& m : messages) {
    const std::vector<Finding> plain = ScanOk(scanner, m);
    ASSERT_FALSE(plain.empty()) << m;
    for (const std::string& p : prefixes) {
      const std::string text = p + m;
      SCOPED_TRACE(text);
      const std::vector<Finding> got = ScanOk(scanner, text);
      ASSERT_EQ(got.size(), plain.size());
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].rule->id, plain[i].rule->id);
        EXPECT_EQ(got[i].bytes.begin, plain[i].bytes.begin + p.size());
        EXPECT_EQ(got[i].bytes.end, plain[i].bytes.end + p.size());
        EXPECT_EQ(got[i].chars.begin, plain[i].chars.begin + CharsBefore(text, p.size()));
        EXPECT_EQ(got[i].chars.end, plain[i].chars.end + CharsBefore(text, p.size()));
        EXPECT_EQ(std::string(got[i].text), std::string(plain[i].text));
        ++compared;
      }
    }
  }
  EXPECT_GE(compared, 45);
}

TEST(Confirmation, AllowContextCoveringTheHitSuppressesIt) {
  Scanner s = MakeScanner(CoreFilter());
  EXPECT_TRUE(ScanOk(s, "最佳饮用时间是开封后三天").empty());
  EXPECT_TRUE(ScanOk(s, "我们会第一时间处理，这是第一次").empty());
  EXPECT_EQ(Ids(ScanOk(s, "销量第一，第一时间发货")), std::vector<std::string>{"t.first"});
  // The allow-context must cover the hit: 最佳 followed by something else is reported.
  EXPECT_EQ(Ids(ScanOk(s, "最佳饮品")), std::vector<std::string>{"t.best"});
}

TEST(Confirmation, NegationCueBeforeTheHitWithinTheClause) {
  Scanner s = MakeScanner(CoreFilter());
  EXPECT_TRUE(ScanOk(s, "抱歉，我们不能加微信哦").empty());
  EXPECT_TRUE(ScanOk(s, "不要随便加陌生人微信").empty());
  EXPECT_TRUE(ScanOk(s, "不能说绝对").empty());
  // A clause break ends the cue's reach.
  EXPECT_EQ(Ids(ScanOk(s, "不能退款。加微信吧")), std::vector<std::string>{"t.wechat"});
  // Beyond the window (8 characters) the cue does not apply.
  EXPECT_EQ(Ids(ScanOk(s, "不能这样子的一二三四五六加微信")), std::vector<std::string>{"t.wechat"});
  // A cue after the hit does not negate it.
  EXPECT_EQ(Ids(ScanOk(s, "加微信是不能的吗")), std::vector<std::string>{"t.wechat"});
}

TEST(Confirmation, AllowBeforeAndAllowAfterLookRightNextToTheHit) {
  auto f = testing::FilterFromText(
      "%format scriptqa-rules 1\n%default category deflection\n%default severity review\n"
      "rule d.unclear\n  regex (?:我们|这边)不清楚\n  allow-after 您 | 你\n  allow-before 如果\n"
      "  reason r\n");
  Scanner s = MakeScanner(f);
  EXPECT_EQ(Ids(ScanOk(s, "这个我们这边不清楚")), std::vector<std::string>{"d.unclear"});
  EXPECT_TRUE(ScanOk(s, "我们这边不清楚您的型号，麻烦发一下").empty());
  EXPECT_TRUE(ScanOk(s, "如果我们不清楚，会再问您").empty());
  // Only directly adjacent text counts (after normalisation: noise in between is skipped).
  EXPECT_TRUE(ScanOk(s, "这边不清楚，您看").empty());
  EXPECT_EQ(Ids(ScanOk(s, "这边不清楚的话您看")), std::vector<std::string>{"d.unclear"});
  auto e = s.Explain("我们这边不清楚您的型号");
  ASSERT_TRUE(e.ok());
  EXPECT_NE(e->ToString().find("followed by allow-after '您'"), std::string::npos) << e->ToString();
  // Survives serialization.
  auto loaded = Filter::Deserialize(*f->Serialize());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->rules()[0].allow_after, (std::vector<std::string>{"您", "你"}));
  EXPECT_EQ((*loaded)->rules()[0].allow_before, (std::vector<std::string>{"如果"}));
}

// The block scan skips a regex database when the message lacks a character every match of its
// regexes must contain (a digit, a letter, '@'). This checks, through the public API, that the
// analysis behind it never skips a regex that can match: each regex below must find its message.
TEST(RegexGating, NeverSkipsARegexThatCanMatch) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"1[3-9][0-9]{9}", "电话13812345678"},
      {"[a-z0-9]{2,10}@[a-z0-9]{2,10}com", "邮箱ab@cdcom"},
      {"(?:qq)?[a-z]{3}号", "xyz号"},                 // optional group, then letters
      {"[0-9]?好评返现", "好评返现"},                  // optional digit
      {"[0-9]{0,8}返现", "返现"},
      {"[0-9]{0,3}元红包", "元红包"},
      {"返[0-9一二三]{1,4}元", "返三元"},              // class with non-ASCII members
      {"返(?:[0-9]{1,8}|[一二三]{1,8})元", "返二元"},          // alternation inside a group
      {"[0-9]{1,8}元|免费送", "免费送"},                   // top-level alternation
      {"\\d{3}号", "123号"},                          // escape class
      {"[^0-9]{2}券", "优惠券"},                        // negated class
      {"微信[a-z][a-z0-9]{5,19}", "微信abcdef"},
      {"v信(?:号)?(?:是|为)?[a-z][a-z0-9]{5,19}", "v信是abcdef"},
      {"[0-9]{1,8}?号楼", "12号楼"},                        // lazy quantifier
      {"(?:路|街)[0-9]{1,5}号", "路88号"},
      {"@[a-z]{1,20}", "@abc"},
      {"x{0,2}好", "好"},
      // Groups gated by required factors (strings every match contains, found in the same
      // literal pass): products of groups, optional items, classes, repetitions and escapes.
      {"(?:最|醉)(?:耐|显)[\\x{4e00}-\\x{9fa5}]", "这款最耐磨"},
      {"(?:一|两|[1-9])个?(?:天|周)(?:就|能)?见效", "两周见效"},
      {"(?:一|两|[1-9])个?(?:天|周)(?:就|能)?见效", "用2个天就见效"},
      {"加(?:我|个)?的?(?:微信|vx)[a-z0-9_]{6,20}", "加个的vx_abcdef"},
      {"(?:[一幺][3-9三四][0-9一二]{9}|1[三四][0-9]{9})", "电话1三123456789"},
      {"(?:ab){1,8}好评", "ababab好评"},
      {"(?:好评|五星){1,2}返现", "五星好评返现"},
      {"返\\x{73B0}[0-9]{1,3}元", "返现100元"},
      {"好评\\@返[a-z]{2}", "好评@返xy"},
      {"a(?:bc)?d好", "ad好"},
      {"(?:qq|微信)(?:号|群)??[1-9][0-9]{4,10}", "微信号12345"},
  };
  for (const auto& [re, msg] : cases) {
    SCOPED_TRACE(re + " on " + msg);
    auto f = Filter::FromDictionaries({DictionarySource::Text(
        "g.rules", "%format scriptqa-rules 1\n%default category privacy\n%default severity block\n"
                   "rule g.one\n  regex " + re + "\n  reason r\n"
                   "rule g.two\n  regex [a-z]{30}\n  reason r\n"
                   "rule g.three\n  regex 1[0-9]{20}\n  reason r\n")});
    ASSERT_TRUE(f.ok()) << f.status();
    Scanner s = MakeScanner(*f);
    EXPECT_EQ(Ids(ScanOk(s, msg)), std::vector<std::string>{"g.one"});
    // And after a round trip through the serialized form.
    auto loaded = Filter::Deserialize(*(*f)->Serialize());
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    Scanner s2 = MakeScanner(*loaded);
    EXPECT_EQ(Ids(ScanOk(s2, msg)), std::vector<std::string>{"g.one"});
    // And in a batch, beside messages that match nothing (the gates are found batch-wide).
    const std::vector<std::string_view> batch = {"谢谢", msg, "稍等"};
    auto found = s.ScanBatch(batch);
    ASSERT_TRUE(found.ok()) << found.status();
    EXPECT_TRUE((*found)[0].empty());
    EXPECT_EQ(Ids((*found)[1]), std::vector<std::string>{"g.one"});
    EXPECT_TRUE((*found)[2].empty());
  }
}

// Lists mix one-character terms (searched in the text) with longer ones (found by the context
// pass): the first term in list order is still the one named, whichever kind it is, and an
// allow-context of one character still covers a hit inside it.
TEST(Confirmation, OneCharacterTermsKeepTheirPlaceInTheList) {
  Scanner s = MakeScanner(testing::FilterFromText(
      "%format scriptqa-rules 1\n%default category off_platform\n%default severity block\n"
      "rule o.wechat\n  literal 加微信\n  negate 别 | 不能 | 请勿\n  reason r\n"
      "rule o.late\n  literal 微信\n  negate 不能 | 别\n  reason r\n"
      "rule o.one\n  literal 码\n  allow 码 | 号码\n  reason r\n"));
  auto detail = [&](const std::string& text, const std::string& rule) {
    auto e = s.Explain(text);
    EXPECT_TRUE(e.ok());
    if (!e.ok()) return std::string();
    for (const Trace& t : e->traces)
      if (t.rule->id == rule) return t.detail;
    return std::string();
  };
  EXPECT_EQ(detail("不能别加微信", "o.wechat"), "negation cue '别' before it");
  EXPECT_EQ(detail("别不能加微信", "o.wechat"), "negation cue '别' before it");
  EXPECT_EQ(detail("请勿加微信", "o.wechat"), "negation cue '请勿' before it");
  EXPECT_EQ(detail("别不能用微信", "o.late"), "negation cue '不能' before it");
  EXPECT_EQ(detail("号码", "o.one"), "inside allow-context '码'");
}

// The literal databases read text in a denser encoding than UTF-8 (two bytes per Chinese
// character): every kind of character must still be found, and a term must not be found where
// its encoding appears starting inside another character's code (卸 is 0x85 0x78 there, so "卸y"
// holds the bytes of "xy").
TEST(LiteralEncoding, FindsEveryKindOfCharacterAndOnlyWholeCharacters) {
  std::shared_ptr<const Filter> f = testing::FilterFromText(
      "%format scriptqa-rules 1\n%default category privacy\n%default severity block\n"
      "rule e.kana\n  literal のお店\n  reason r\n"
      "rule e.hangul\n  literal 한국\n  reason r\n"
      "rule e.ext_a\n  literal 㐀坂\n  reason r\n"
      "rule e.edges\n  literal 一龥\n  reason r\n"
      "rule e.latin\n  literal xy\n  reason r\n");
  Scanner s = MakeScanner(f);
  EXPECT_EQ(Ids(ScanOk(s, "在のお店买")), std::vector<std::string>{"e.kana"});
  EXPECT_EQ(Ids(ScanOk(s, "한국어")), std::vector<std::string>{"e.hangul"});
  EXPECT_EQ(Ids(ScanOk(s, "看㐀坂")), std::vector<std::string>{"e.ext_a"});
  EXPECT_EQ(Ids(ScanOk(s, "一龥")), std::vector<std::string>{"e.edges"});
  EXPECT_EQ(Ids(ScanOk(s, "卸xy")), std::vector<std::string>{"e.latin"});
  EXPECT_TRUE(ScanOk(s, "卸y").empty());  // 卸 ends with the byte of x: not an occurrence
  auto loaded = Filter::Deserialize(*f->Serialize());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  Scanner s2 = MakeScanner(*loaded);
  EXPECT_EQ(Ids(ScanOk(s2, "看㐀坂")), std::vector<std::string>{"e.ext_a"});
  EXPECT_TRUE(ScanOk(s2, "卸y").empty());
}

// "X | Y | ...": the n characters from U+from on (three-byte ones), as a class's members.
std::string CharacterRun(uint32_t from, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    if (i) s += " | ";
    const uint32_t cp = from + static_cast<uint32_t>(i);
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// Rule text that makes a literal set large enough to be compiled from the dense encoding (at
// least 32,768 literals longer than 8 bytes, as the default packs): rule e.bulk, three products of
// rare characters (鼀 U+9F00, 鸀 U+9E00, 鴀 U+9D00 make one of its terms), after `classes`.
std::string BulkRules(const std::string& classes = "") {
  std::string text =
      "%format scriptqa-rules 1\n%default category privacy\n%default severity block\n"
      "%class A = " + CharacterRun(0x9F00, 64) + "\n%class B = " + CharacterRun(0x9E00, 64) + "\n";
  for (int k = 0; k < 3; ++k)
    text += "%class C" + std::to_string(k) + " = " + CharacterRun(0x9D00 + 4 * k, 4) + "\n";
  text += classes + "rule e.bulk\n";
  for (int k = 0; k < 3; ++k) text += "  literal {A}{B}{C" + std::to_string(k) + "}\n";
  return text + "  reason r\n";
}

// The same with a set large enough to be compiled from the dense encoding.
TEST(LiteralEncoding, LargeSetsFindWholeCharactersOnly) {
  std::string text = BulkRules();
  text += "rule e.kana\n  literal のお店\n  reason r\n"
          "rule e.ext_a\n  literal 㐀坂\n  reason r\n"
          "rule e.latin\n  literal xy\n  reason r\n";
  std::shared_ptr<const Filter> f = testing::FilterFromText(text);
  ASSERT_GE(f->info().literal_count, 32768u);
  for (const std::shared_ptr<const Filter>& filter : {f, *Filter::Deserialize(*f->Serialize())}) {
    Scanner s = MakeScanner(filter);
    EXPECT_EQ(Ids(ScanOk(s, "在のお店买")), std::vector<std::string>{"e.kana"});
    EXPECT_EQ(Ids(ScanOk(s, "看㐀坂")), std::vector<std::string>{"e.ext_a"});
    EXPECT_EQ(Ids(ScanOk(s, "卸xy")), std::vector<std::string>{"e.latin"});
    EXPECT_TRUE(ScanOk(s, "卸y").empty());  // 卸 ends with the byte of x: not an occurrence
    // A bulk term, alone and among other text: 鼀 (U+9F00) 鸀 (U+9E00) 鴀 (U+9D00).
    EXPECT_EQ(Ids(ScanOk(s, "鼀鸀鴀")), std::vector<std::string>{"e.bulk"});
    EXPECT_EQ(Ids(ScanOk(s, "a鼀鸀鴀b")), std::vector<std::string>{"e.bulk"});
  }
}

// Long texts are encoded many characters at a step: a term is found with its exact span wherever
// it lies after runs of Chinese characters of every length, mixed with ASCII, other scripts and
// punctuation (every alignment of the term against the steps), in a set compiled dense.
TEST(LiteralEncoding, LongMixedTextsFindTermsWhereverTheyLie) {
  std::string text = BulkRules();
  text += "rule e.kana\n  literal のお店\n  reason r\nrule e.latin\n  literal xy\n  reason r\n";
  std::shared_ptr<const Filter> f = testing::FilterFromText(text);
  Scanner s = MakeScanner(f);
  const std::vector<std::string> fillers = {"你好", "中文字符测试一下看看", "abc", "한국", "😀",
                                            "，", "请问还有什么可以帮您的吗", "7", "的"};
  // A Latin term is a word only between non-letters: commas around it.
  const std::vector<std::array<std::string, 3>> terms = {
      {"", "鼀鸀鴀", "e.bulk"}, {"", "のお店", "e.kana"}, {"，", "xy", "e.latin"}};
  uint32_t seed = 12345;
  for (int round = 0; round < 300; ++round) {
    std::string prefix, suffix;
    for (int k = round % 23; k > 0; --k) {
      seed = seed * 1103515245u + 12345u;
      prefix += fillers[(seed >> 16) % fillers.size()];
    }
    for (int k = 0; k < 6; ++k) {
      seed = seed * 1103515245u + 12345u;
      suffix += fillers[(seed >> 16) % fillers.size()];
    }
    const auto& [around, term, rule] = terms[static_cast<size_t>(round) % terms.size()];
    prefix += around;
    const std::string msg = prefix + term + around + suffix;
    std::vector<Finding> fs = ScanOk(s, msg);
    ASSERT_EQ(Ids(fs), std::vector<std::string>{rule}) << msg;
    EXPECT_EQ(fs[0].bytes.begin, prefix.size()) << msg;
    EXPECT_EQ(fs[0].bytes.end, prefix.size() + term.size()) << msg;
  }
}

// In a dense set, literals that share their last eight encoded bytes with many others (here 20
// terms of a class in front of 帮您处理, as the default packs' word classes make) are found
// through their shared ending: each term where it occurs, with its span; none where only the
// ending or a term that is not in the list occurs; none that would start inside a character (卸
// ends with the byte of x); every term ending at one place with overlap kAll (不能帮您处理 holds
// two terms of the class); the same after a round trip through Serialize.
TEST(LiteralEncoding, TermsSharingAnEndingAreFoundOneByOne) {
  std::string text = BulkRules(
      "%class W = 能 | 可以 | 无法 | 不能 | 没法 | 没办法 | 来 | 去 | 已 | 再 | 将 | 会 | 要 | x | "
      "ab | 不会 | 没有办法 | 马上 | 立即 | 尽快\n");
  text += "rule e.group\n  literal {W}帮您处理\n  reason r\n"
          "rule e.ending\n  literal 帮您处理\n  reason r\n"
          "rule e.longer\n  literal 这边不能帮您处理\n  reason r\n";
  std::shared_ptr<const Filter> f = testing::FilterFromText(text);
  ASSERT_GE(f->info().literal_count, 32768u);
  ScanOptions all;
  all.overlap = Overlap::kAll;
  for (const std::shared_ptr<const Filter>& filter : {f, *Filter::Deserialize(*f->Serialize())}) {
    Scanner s = MakeScanner(filter);
    for (std::string w : {"能", "可以", "没办法", "x", "ab", "没有办法", "尽快"}) {
      const std::string msg = "您好" + w + "帮您处理吧";
      std::vector<Finding> fs = ScanOk(s, msg, all);
      ASSERT_EQ(Ids(fs), (std::vector<std::string>{"e.group", "e.ending"})) << msg;
      EXPECT_EQ(fs[0].bytes.begin, 6u) << msg;
      EXPECT_EQ(fs[0].bytes.end, msg.size() - 3) << msg;
      EXPECT_EQ(fs[1].bytes.begin, 6u + w.size()) << msg;
    }
    EXPECT_EQ(Ids(ScanOk(s, "我来帮您处理", all)), (std::vector<std::string>{"e.group", "e.ending"}));
    EXPECT_EQ(Ids(ScanOk(s, "我想帮您处理", all)), std::vector<std::string>{"e.ending"});
    EXPECT_EQ(Ids(ScanOk(s, "卸帮您处理", all)), std::vector<std::string>{"e.ending"});
    EXPECT_TRUE(ScanOk(s, "帮您处", all).empty());
    EXPECT_EQ(Ids(ScanOk(s, "这边不能帮您处理", all)),
              (std::vector<std::string>{"e.longer", "e.group", "e.group", "e.ending"}));
    EXPECT_EQ(Ids(ScanOk(s, "能帮您处理，不能帮您处理", all)),
              (std::vector<std::string>{"e.group", "e.ending", "e.group", "e.group", "e.ending"}));
    EXPECT_EQ(Ids(ScanOk(s, "鼀鸀鴀")), std::vector<std::string>{"e.bulk"});
  }
}

TEST(Confirmation, RequiredContextNear) {
  Scanner s = MakeScanner(CoreFilter());
  EXPECT_EQ(Ids(ScanOk(s, "我的qq是 123456789 哦")), std::vector<std::string>{"t.qq"});
  EXPECT_EQ(Ids(ScanOk(s, "扣扣123456789")), std::vector<std::string>{"t.qq"});
  EXPECT_TRUE(ScanOk(s, "您的订单123456789已发货").empty());
}

TEST(Confirmation, ValidatorsRejectOrderNumbers) {
  Scanner s = MakeScanner(CoreFilter());
  EXPECT_EQ(Ids(ScanOk(s, "电话13812345678")), std::vector<std::string>{"t.mobile"});
  EXPECT_TRUE(ScanOk(s, "编号12812345678").empty());  // no mobile prefix 12x
  EXPECT_EQ(Ids(ScanOk(s, "卡号6222020200112345679")), std::vector<std::string>{"t.card"});
  EXPECT_TRUE(ScanOk(s, "订单6222020200112345676").empty());  // Luhn fails
  EXPECT_EQ(Ids(ScanOk(s, "身份证11010519491231002X")), std::vector<std::string>{"t.id"});
  EXPECT_TRUE(ScanOk(s, "身份证110105194912310021").empty());  // wrong check digit
  EXPECT_TRUE(ScanOk(s, "身份证11010519491331002X").empty());  // month 13
}

TEST(Confirmation, DigitBoundaryKeepsNumbersInsideLongerNumbersOut) {
  Scanner s = MakeScanner(CoreFilter());
  EXPECT_TRUE(ScanOk(s, "订单号2501381234567890").empty());
  EXPECT_TRUE(ScanOk(s, "物流单号913812345678").empty());
}

TEST(Confirmation, AsciiBoundaryForLatinPatterns) {
  Scanner s = MakeScanner(CoreFilter());
  EXPECT_EQ(Ids(ScanOk(s, "加vx")), std::vector<std::string>{"t.wechat"});
  EXPECT_TRUE(ScanOk(s, "加vxy的型号").empty());
  // A letter counts only when directly adjacent in the original: an ID after a separator is not
  // part of the word (regression: "加Ｖ　Ｘ：abc123" was missed because "vxabc" joined up).
  EXPECT_EQ(Ids(ScanOk(s, "加Ｖ　Ｘ：abc123")), std::vector<std::string>{"t.wechat"});
  EXPECT_EQ(Ids(ScanOk(s, "加vx abc")), std::vector<std::string>{"t.wechat"});
  EXPECT_TRUE(ScanOk(s, "加vxabc").empty());
}

TEST(Overlap, LongestLeftmostPerCategoryByDefaultAllOnRequest) {
  Scanner s = MakeScanner(CoreFilter());
  // 加微信 (t.wechat) and 微信 (t.wechat_word) overlap in one category: the longer, earlier wins.
  EXPECT_EQ(Ids(ScanOk(s, "加微信")), std::vector<std::string>{"t.wechat"});
  ScanOptions all;
  all.overlap = Overlap::kAll;
  EXPECT_EQ(Ids(ScanOk(s, "加微信", all)), (std::vector<std::string>{"t.wechat", "t.wechat_word"}));
  // Different categories may overlap: 好评 (review) inside nothing else; both reported in order.
  EXPECT_EQ(Ids(ScanOk(s, "最佳好评")), (std::vector<std::string>{"t.best", "t.rating"}));
}

TEST(Findings, CarryRuleSeveritySuggestionAndReason) {
  Scanner s = MakeScanner(CoreFilter());
  std::string msg = "您好😀，电话是13812345678";
  std::vector<Finding> fs = ScanOk(s, msg);
  ASSERT_EQ(fs.size(), 1u);
  const Finding& f = fs[0];
  EXPECT_EQ(f.rule_id(), "t.mobile");
  EXPECT_EQ(f.category(), "privacy");
  EXPECT_EQ(f.severity, Severity::kBlock);
  EXPECT_EQ(f.reason(), "客户手机号");
  EXPECT_EQ(f.text, "13812345678");
  EXPECT_EQ(f.bytes.begin, msg.find("138"));
  EXPECT_EQ(f.chars.begin, 7u);  // 您 好 😀 ， 电 话 是
  EXPECT_EQ(f.chars.end, 18u);
  EXPECT_EQ(f.Suggestion(), "138****5678");
  EXPECT_EQ(f.Suggestions(), std::vector<std::string>{"138****5678"});
  EXPECT_EQ(f.Suggestion(5), "");
}

TEST(Findings, MinSeverityFilters) {
  Scanner s = MakeScanner(CoreFilter());
  ScanOptions o;
  o.min_severity = Severity::kReview;
  EXPECT_TRUE(ScanOk(s, "给个好评", o).empty());
  EXPECT_EQ(ScanOk(s, "给个好评").size(), 1u);
  auto has = s.HasFinding("给个好评，加微信", Severity::kBlock);
  ASSERT_TRUE(has.ok());
  EXPECT_TRUE(*has);
  has = s.HasFinding("给个好评", Severity::kReview);
  ASSERT_TRUE(has.ok());
  EXPECT_FALSE(*has);
}

TEST(Suggestions, TemplatesRender) {
  EXPECT_EQ(RenderSuggestion("{masked}", "13812345678"), "138****5678");
  EXPECT_EQ(RenderSuggestion("{masked:4:4}", "6222 0202 0011 2345"), "6222 **** **** 2345");
  EXPECT_EQ(RenderSuggestion("{masked:0:0}", "ab12"), "****");
  EXPECT_EQ(RenderSuggestion("{masked}", "123"), "***");  // too short to keep anything
  EXPECT_EQ(RenderSuggestion("<{match}> {{x}}", "最佳"), "<最佳> {x}");
  EXPECT_EQ(RenderSuggestion("{masked}", "１３８１２３４５６７８"), "１３８****５６７８");
}

TEST(Rewrite, AppliesSuggestionsAndTheResultIsClean) {
  Scanner s = MakeScanner(CoreFilter());
  std::string msg = "这是最佳选择，加微信13812345678聊";
  auto r = s.Rewrite(msg);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->text, "这是优质选择，在平台内沟通138****5678聊");
  EXPECT_TRUE(r->clean);
  EXPECT_EQ(r->replaced.size(), 3u);
  auto again = s.Scan(r->text, {});
  ASSERT_TRUE(again.ok());
  for (const Finding& f : *again) EXPECT_LT(f.severity, Severity::kReview) << f.rule->id;
}

TEST(Rewrite, DirtySuggestionIsMaskedInLaterRounds) {
  auto f = testing::FilterFromText(
      "%format scriptqa-rules 1\n%default category ad_law\n%default severity review\n"
      "rule a.one\n  literal 最佳\n  suggest 第一\n  reason r\n"
      "rule a.two\n  literal 第一\n  suggest 最佳\n  reason r\n");
  Scanner s = MakeScanner(f);
  auto r = s.Rewrite("这是最佳的");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->clean);
  EXPECT_EQ(r->text, "这是**的");
}

// Regression: two overlapping findings of different categories; the one chosen for its
// suggestion used to be replaced alone, so the rest of the other (a contact ID) survived while the
// rewrite still reported clean, because the ID's rule needs the label that was replaced.
TEST(Rewrite, OverlappingFindingsAreReplacedAsOneSoNothingLeaks) {
  auto f = testing::FilterFromText(
      "%format scriptqa-rules 1\n%default severity block\n"
      "rule o.add\n  category off_platform\n  literal 加vx\n  suggest 在平台内沟通\n  reason r\n"
      "rule p.id\n  category privacy\n  regex vx[a-z0-9]{4,20}\n  suggest （已隐藏）\n  reason r\n");
  Scanner s = MakeScanner(f);
  std::string msg = "亲加vx：abc123哦";
  ASSERT_EQ(ScanOk(s, msg).size(), 2u);
  auto r = s.Rewrite(msg);
  ASSERT_TRUE(r.ok());
  // Both are block; the longer finding's suggestion replaces the whole group.
  EXPECT_EQ(r->text, "亲（已隐藏）哦");
  EXPECT_EQ(r->text.find("abc123"), std::string::npos);
  EXPECT_TRUE(r->clean);
  ASSERT_EQ(r->replaced.size(), 1u);
  EXPECT_EQ(r->replaced[0].rule_id(), "p.id");
  EXPECT_EQ(r->replaced[0].text, "加vx：abc123");  // the whole replaced span
}

TEST(Rewrite, EveryCoreRuleExampleRewritesClean) {
  auto f = CoreFilter();
  Scanner s = MakeScanner(f);
  for (const Rule& rule : f->rules()) {
    for (const std::string& hit : rule.hit_examples) {
      auto r = s.Rewrite(hit);
      ASSERT_TRUE(r.ok());
      EXPECT_TRUE(r->clean) << rule.id << ": " << hit << " -> " << r->text;
    }
  }
}

TEST(Explain, SaysWhichExemptionSuppressedWhat) {
  Scanner s = MakeScanner(CoreFilter());
  auto e = s.Explain("最佳饮用时间内，不能加微信，订单123456789");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->normalized, "最佳饮用时间内不能加微信订单123456789");
  EXPECT_TRUE(e->findings.empty());
  std::set<std::pair<std::string, Decision>> seen;
  for (const Trace& t : e->traces) seen.emplace(t.rule->id, t.decision);
  EXPECT_TRUE(seen.count({"t.best", Decision::kAllowContext}));
  EXPECT_TRUE(seen.count({"t.wechat", Decision::kNegated}));
  EXPECT_TRUE(seen.count({"t.qq", Decision::kMissingContext}));
  // Sub-spans of the order number touch digits on a side.
  EXPECT_TRUE(seen.count({"t.qq", Decision::kBoundary}));
  for (const auto& [id, d] : seen) EXPECT_NE(d, Decision::kReported) << id;
  std::string text = e->ToString();
  EXPECT_NE(text.find("allow-context '最佳饮用时间'"), std::string::npos) << text;
  EXPECT_NE(text.find("negation cue '不能'"), std::string::npos) << text;
}

// A scanner over one review rule: the literal 评价, the companions 返现 | 红包, and `keys`.
Scanner CompanionRuleScanner(const std::string& keys) {
  return MakeScanner(testing::FilterFromText(
      "%format scriptqa-rules 1\n"
      "%default category review\n"
      "%default severity block\n"
      "rule t.review\n"
      "  literal 评价\n"
      "  with    返现 | 红包\n" +
      keys +
      "  suggest 欢迎根据真实体验评价\n"
      "  reason  以利益换取评价\n"));
}

// What Explain decided about the only raw hit of `text` (kReported: a finding).
Decision OnlyDecision(Scanner& s, std::string_view text) {
  auto e = s.Explain(text);
  if (!e.ok()) {
    ADD_FAILURE() << text << ": " << e.status();
    return Decision::kReported;
  }
  if (e->traces.size() != 1) {
    ADD_FAILURE() << text << ": " << e->ToString();
    return Decision::kReported;
  }
  EXPECT_EQ(e->findings.size(), e->traces[0].decision == Decision::kReported ? 1u : 0u)
      << e->ToString();
  return e->traces[0].decision;
}

TEST(Explain, NamesTheMissingCompanionBeforeAnExemption) {
  // design.md: companions are checked before the exempting terms of the scope, and Explain names
  // the first check that fails. Both fail here; either suppresses the hit.
  Scanner s = CompanionRuleScanner("  unless  真实\n");
  EXPECT_EQ(OnlyDecision(s, "请按真实感受给个评价"), Decision::kMissingContext);
  // With its companion there, the exemption decides.
  EXPECT_EQ(OnlyDecision(s, "请按真实感受给个评价，返现5元"), Decision::kAllowContext);
  EXPECT_EQ(OnlyDecision(s, "给个评价，返现5元"), Decision::kReported);
}

TEST(Explain, NamesTheMissingCompanionBeforeAWindowedExemption) {
  // design.md: a companion needed within `within` characters is looked for first, before the
  // exemptions right before or after the hit (unless-before, unless-after); a hit that lacks it
  // is traced as missing it. Where a companion stands in the window, the scope still bounds it.
  Scanner s = CompanionRuleScanner("  within  10\n  unless-after 3 | 数\n");
  EXPECT_EQ(OnlyDecision(s, "这款评价数很多"), Decision::kMissingContext);
  // With its companion there, the exemption decides.
  EXPECT_EQ(OnlyDecision(s, "评价数截图给我返现5元"), Decision::kAllowContext);
  EXPECT_EQ(OnlyDecision(s, "评价截图给我返现5元"), Decision::kReported);
  // Within ten characters but in the sentence before: not its companion.
  EXPECT_EQ(OnlyDecision(s, "返现5元。给个评价"), Decision::kMissingContext);
  // In the same sentence: fourteen characters before it is outside the window, nine inside.
  EXPECT_EQ(OnlyDecision(s, "返现五元的活动已经结束了现在给个评价"), Decision::kMissingContext);
  EXPECT_EQ(OnlyDecision(s, "返现五元的活动给个评价"), Decision::kReported);
}

TEST(Explain, ReportsOverlapLosers) {
  Scanner s = MakeScanner(CoreFilter());
  auto e = s.Explain("加微信");
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->findings.size(), 1u);
  bool overlapped = false;
  for (const Trace& t : e->traces)
    overlapped |= t.rule->id == "t.wechat_word" && t.decision == Decision::kOverlapped;
  EXPECT_TRUE(overlapped) << e->ToString();
}

TEST(Profile, CategoriesRulesSeveritiesAllowAndDenyTerms) {
  auto f = CoreFilter();
  Scanner s = MakeScanner(f);
  ProfileOptions po;
  po.disabled = {"ad_law"};
  po.severity_overrides = {{"t.rating", Severity::kReview}};
  po.allow_terms = {"加微信公众号"};
  po.deny_terms = {"竞品甲"};
  auto p = Profile::Create(f, po);
  ASSERT_TRUE(p.ok()) << p.status();
  ScanOptions o;
  o.profile = p->get();
  EXPECT_TRUE(ScanOk(s, "这是最佳选择", o).empty());
  std::vector<Finding> fs = ScanOk(s, "给个好评", o);
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].severity, Severity::kReview);
  EXPECT_TRUE(ScanOk(s, "欢迎加微信公众号", o).empty());
  EXPECT_EQ(Ids(ScanOk(s, "欢迎加微信", o)), std::vector<std::string>{"t.wechat"});
  fs = ScanOk(s, "竞 品 甲更便宜", o);
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].rule_id(), "shop.shop_deny");
  EXPECT_EQ(fs[0].text, "竞 品 甲");
  // Without the profile, the filter behaves as before.
  EXPECT_EQ(Ids(ScanOk(s, "这是最佳选择")), std::vector<std::string>{"t.best"});
}

TEST(Profile, EnabledCategoriesAndErrors) {
  auto f = CoreFilter();
  Scanner s = MakeScanner(f);
  ProfileOptions po;
  po.enabled_categories = {"privacy"};
  auto p = Profile::Create(f, po);
  ASSERT_TRUE(p.ok());
  ScanOptions o;
  o.profile = p->get();
  EXPECT_EQ(Ids(ScanOk(s, "最佳，加微信，13812345678", o)), std::vector<std::string>{"t.mobile"});
  po.enabled_categories = {"nope"};
  po.disabled = {"no.rule"};
  auto bad = Profile::Create(f, po);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("enabled_categories: no category 'nope'"), absl::string_view::npos);
  EXPECT_NE(bad.status().message().find("disabled: no rule or category 'no.rule'"), absl::string_view::npos);
  // A profile of another filter is refused.
  auto other = CoreFilter(FilterOptions{});
  auto p2 = Profile::Create(other, ProfileOptions{});
  ScanOptions o2;
  o2.profile = p2->get();
  EXPECT_EQ(s.Scan("x", o2).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(BadInput, InvalidUtf8IsRepairedWithOriginalOffsets) {
  Scanner s = MakeScanner(CoreFilter());
  std::string msg = "亲\xE4\xBD加\xff微信";  // a truncated character, then a stray byte
  std::vector<Finding> fs = ScanOk(s, msg);
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].bytes.begin, 5u);
  EXPECT_EQ(fs[0].bytes.end, msg.size());
  EXPECT_EQ(fs[0].chars.begin, 2u);  // 亲, the truncated sequence (one), then 加
  EXPECT_EQ(fs[0].chars.end, 6u);
}

TEST(BadInput, InvalidUtf8RejectedOnRequest) {
  Scanner s = MakeScanner(CoreFilter());
  ScanOptions o;
  o.invalid_utf8 = InvalidUtf8::kReject;
  auto r = s.Scan("加微\xC0\xAF信", o);  // overlong encoding of '/'
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "invalid UTF-8 at byte 6");
  EXPECT_TRUE(s.Scan("加微信", o).ok());
}

TEST(BadInput, LoneSurrogatesAndOverlongsAreInvalid) {
  Scanner s = MakeScanner(CoreFilter());
  ScanOptions o;
  o.invalid_utf8 = InvalidUtf8::kReject;
  for (std::string bad : {std::string("\xED\xA0\x80"), std::string("\xF4\x90\x80\x80"),
                          std::string("\xE0\x80\xAF"), std::string("\x80"), std::string("\xF8\x88\x80\x80\x80")}) {
    EXPECT_FALSE(s.Scan("加" + bad, o).ok());
    EXPECT_TRUE(s.Scan("加" + bad).ok());
  }
}

TEST(BadInput, EmptyNulAndHugeMessages) {
  Scanner s = MakeScanner(CoreFilter());
  EXPECT_TRUE(ScanOk(s, "").empty());
  EXPECT_TRUE(ScanOk(s, std::string_view("\0\0\0", 3)).empty());
  std::string nul("加\0微信", 10);
  std::vector<Finding> fs = ScanOk(s, nul);
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].bytes.end, nul.size());
  std::string big;
  while (big.size() < (1u << 20)) big += "您好，订单已经发出，请耐心等待。";
  big += "加微信";
  fs = ScanOk(s, big);
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].bytes.begin, big.size() - 9);
}

TEST(BadInput, OnlyNoiseGivesNothing) {
  Scanner s = MakeScanner(CoreFilter());
  EXPECT_TRUE(ScanOk(s, "，。！？…… 😀😀 ￥￥ *** ---").empty());
}

TEST(Callback, StopsEarlyAndSeesFindingsInOrder) {
  Scanner s = MakeScanner(CoreFilter());
  int calls = 0;
  absl::Status st = s.Scan("最佳，加微信，13812345678", {}, [&](const Finding& f) {
    ++calls;
    EXPECT_EQ(f.rule_id(), "t.best");
    return ScanControl::kStop;
  });
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(calls, 1);
  std::vector<size_t> begins;
  st = s.Scan("最佳，加微信，13812345678", {}, [&](const Finding& f) {
    begins.push_back(f.bytes.begin);
    return ScanControl::kContinue;
  });
  EXPECT_EQ(begins.size(), 3u);
  EXPECT_TRUE(std::is_sorted(begins.begin(), begins.end()));
}

TEST(Misuse, ReentrantCallFromCallbackIsAnError) {
  Scanner s = MakeScanner(CoreFilter());
  absl::Status inner;
  absl::Status st = s.Scan("加微信", {}, [&](const Finding&) {
    inner = s.Scan("最佳", {}).status();
    return ScanControl::kContinue;
  });
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(inner.code(), absl::StatusCode::kFailedPrecondition);
  // The scanner works again afterwards.
  EXPECT_EQ(ScanOk(s, "最佳").size(), 1u);
}

TEST(Misuse, ConcurrentUseFromTwoThreadsIsAnError) {
  Scanner s = MakeScanner(CoreFilter());
  std::atomic<bool> in_callback{false}, release{false};
  absl::Status other;
  std::thread t([&] {
    while (!in_callback.load()) std::this_thread::yield();
    other = s.Scan("最佳", {}).status();
    release = true;
  });
  absl::Status st = s.Scan("加微信", {}, [&](const Finding&) {
    in_callback = true;
    while (!release.load()) std::this_thread::yield();
    return ScanControl::kContinue;
  });
  t.join();
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(other.code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Scanner, IsMovableAndKeepsItsFilterAlive) {
  std::optional<Scanner> s;
  {
    auto f = CoreFilter();
    s.emplace(MakeScanner(f));
  }  // the filter's last outside reference is gone
  Scanner moved = std::move(*s);
  EXPECT_EQ(ScanOk(moved, "加微信").size(), 1u);
  EXPECT_EQ(moved.filter()->rules().size(), 11u);
  EXPECT_FALSE(Scanner::Create(nullptr).ok());
}

TEST(Options, CollapseRepeats) {
  FilterOptions o;
  o.normalization.collapse_repeats = true;
  Scanner s = MakeScanner(CoreFilter(o));
  std::string msg = "加加微微微信信吧";
  std::vector<Finding> fs = ScanOk(s, msg);
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].text, "加加微微微信信");
  // Without the option, repeats break the literal.
  Scanner plain = MakeScanner(CoreFilter());
  EXPECT_TRUE(ScanOk(plain, msg).empty() || ScanOk(plain, msg)[0].rule_id() != "t.wechat");
}


// Start of match: a regex hit's span is the leftmost-starting match that ends where the hit
// ends (matching.md), whether the regex has one width (start = end - width) or several (its
// start-of-match database, on a window before the hit), with noise between the characters and
// with several hits of one regex in a message, near each other or far apart.
std::shared_ptr<const Filter> StartFilter() {
  static std::shared_ptr<const Filter> f = testing::FilterFromText(
      "%format scriptqa-rules 1\n%default category privacy\n%default severity block\n"
      "rule s.fixed\n  regex 1[3-9][0-9]{9}\n  suggest x\n  reason r\n"
      "rule s.cjk\n  regex 号[一二三]{2}\n  suggest x\n  reason r\n"
      "rule s.var\n  regex [a-p]{2,6}[0-9]{2,4}\n  suggest x\n  reason r\n"
      "rule s.prefix\n  regex qq(?:号)?(?:是)?[1-9][0-9]{4,10}\n  suggest x\n  reason r\n"
      "rule s.word\n  regex (?:\\bq)?q[0-9]{3}\n  category review\n  suggest x\n  reason r\n");
  return f;
}

// rule@begin-end (original bytes) of every finding under Overlap::kAll.
std::vector<std::string> AllSpans(std::string_view text) {
  Scanner s = MakeScanner(StartFilter());
  ScanOptions o;
  o.overlap = Overlap::kAll;
  std::vector<std::string> out;
  for (const Finding& f : ScanOk(s, text, o))
    out.push_back(absl::StrCat(std::string(f.rule_id()), "@", f.bytes.begin, "-", f.bytes.end));
  return out;
}

TEST(StartOfMatch, FixedWidthRegexStartsWidthBeforeItsEnd) {
  using V = std::vector<std::string>;
  EXPECT_EQ(AllSpans("电话13812345678"), V{"s.fixed@6-17"});
  // Noise between the characters stays inside the span.
  EXPECT_EQ(AllSpans("电话1 3-8 1234 5678。"), V{"s.fixed@6-21"});
  // A longer digit run: every 11-digit window that ends on a digit is a match of its own.
  EXPECT_EQ(AllSpans("913812345678"), (V{"s.fixed@1-12"}));
  // Multi-byte characters: the width is in normalised bytes (3 per character here).
  EXPECT_EQ(AllSpans("门牌号一 二三"), V{"s.cjk@6-16"});
}

TEST(StartOfMatch, VariableWidthRegexTakesTheLeftmostStart) {
  using V = std::vector<std::string>;
  // [a-p]{2,6}[0-9]{2,4}: at most six letters count, so the match ending at each digit starts at
  // "abcdef", not at "pp". Findings come longest first.
  EXPECT_EQ(AllSpans("ppabcdef1234"), (V{"s.var@2-12", "s.var@2-11", "s.var@2-10"}));
  // Noise inside and around the match.
  EXPECT_EQ(AllSpans("看 ab-c 1 2 。"), V{"s.var@4-12"});
  // The optional parts of the prefix are taken when present, noise or not.
  V qq = AllSpans("我的qq 号：是 12345");
  ASSERT_FALSE(qq.empty());
  EXPECT_EQ(qq.front(), "s.prefix@6-24");
  for (const std::string& s : qq) EXPECT_EQ(s.substr(0, 11), "s.prefix@6-") << s;
}

TEST(StartOfMatch, SeveralHitsOfOneRegexNearAndFar) {
  using V = std::vector<std::string>;
  // Two hits close together (their windows overlap) and one far away: each its own start.
  std::string far(300, ' ');
  for (int i = 0; i < 100; ++i) far += "好";
  const std::string text = "ab12cd34" + far + "ef56";
  const std::string last = "s.var@" + std::to_string(text.size() - 4) + "-" +
                           std::to_string(text.size());
  EXPECT_EQ(AllSpans(text), (V{"s.var@0-4", "s.var@4-8", last}));
  // The same phone number twice, and a different regex between them.
  EXPECT_EQ(AllSpans("13812345678 ab12 13912345678"),
            (V{"s.fixed@0-11", "s.var@12-19", "s.var@12-18", "s.var@12-16", "s.fixed@17-28"}));
}

TEST(StartOfMatch, WordBoundaryBeforeTheWindowSeesThePreviousCharacter) {
  using V = std::vector<std::string>;
  // (?:\bq)?q[0-9]{3} is at most five bytes. In "aqq123" no word boundary precedes the first q,
  // so the match starts at the second q; a window starting at the first q (end - max_width)
  // would see a boundary there and report "qq123".
  EXPECT_EQ(AllSpans("aqq123"), V{"s.word@2-6"});
  // At the start of the message, or after a non-word character, the boundary is real.
  EXPECT_EQ(AllSpans("qq123"), V{"s.word@0-5"});
  EXPECT_EQ(AllSpans("好qq123"), V{"s.word@3-8"});
}

}  // namespace
}  // namespace scriptqa
