// The catalogue of bad input (docs/reliability.md): the cases no other suite covers, each with
// the exact behaviour the table promises. Through the public headers only.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <tuple>
#include <utility>

#include "fuzz_util.h"
#include "scriptqa/stream.h"

namespace scriptqa {
namespace {

using fuzz::CharIndex;

Scanner MakeScanner(std::shared_ptr<const Filter> f) {
  auto s = Scanner::Create(std::move(f));
  EXPECT_TRUE(s.ok());
  return std::move(*s);
}

// Each kind of invalid UTF-8 between 加 and 微信: repaired (read as noise, so the evasion is still
// caught, with character offsets counted as Python's decode(errors="replace") counts them) or
// rejected at its first byte.
TEST(Catalogue, InvalidUtf8OfEveryKind) {
  struct Case {
    const char* what;
    std::string bytes;
    size_t python_chars;  // len(bytes.decode("utf-8", "replace"))
  };
  const Case cases[] = {
      {"stray continuation byte", "\x80", 1},
      {"lead byte at the end of a truncated 2-byte form", "\xc2", 1},
      {"truncated 3-byte character", "\xe4\xbd", 1},
      {"truncated 4-byte character", "\xf0\x9f\x98", 1},
      {"overlong 2-byte '/'", "\xc0\xaf", 2},
      {"overlong 3-byte '/'", "\xe0\x80\xaf", 3},
      {"overlong 4-byte '/'", "\xf0\x80\x80\xaf", 4},
      {"overlong NUL (modified UTF-8)", "\xc0\x80", 2},
      {"lone high surrogate", "\xed\xa0\x80", 3},
      {"lone low surrogate", "\xed\xbf\xbf", 3},
      {"surrogate pair in CESU-8", "\xed\xa0\xbd\xed\xb8\x80", 6},
      {"above U+10FFFF", "\xf4\x90\x80\x80", 4},
      {"F5 lead byte", "\xf5\x80\x80\x80", 4},
      {"5-byte form", "\xf8\x88\x80\x80\x80", 5},
      {"6-byte form", "\xfc\x84\x80\x80\x80\x80", 6},
      {"FE", "\xfe", 1},
      {"FF", "\xff", 1},
      {"two truncated characters", "\xe4\xbd\xe4\xbd", 2},
  };
  auto filter = fuzz::DefaultFilter();
  Scanner s = MakeScanner(filter);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string msg = "加" + c.bytes + "微信";
    // Our own count agrees with Python's.
    EXPECT_EQ(static_cast<size_t>(CharIndex(c.bytes).back()), c.python_chars);
    auto fs = s.Scan(msg);
    ASSERT_TRUE(fs.ok());
    bool found = false;
    for (const Finding& f : *fs) {
      fuzz::CheckFinding(f, msg, CharIndex(msg), c.what);
      if (f.rule_id() == "off_platform.wechat") {
        found = true;
        // The finding is the channel (微信); the act (加) before the bad bytes is its context.
        EXPECT_EQ(f.bytes.begin, msg.size() - 6);
        EXPECT_EQ(f.bytes.end, msg.size());
        EXPECT_EQ(f.chars.begin, 1 + c.python_chars);
        EXPECT_EQ(f.chars.end, 3 + c.python_chars);
      }
    }
    EXPECT_TRUE(found) << fuzz::Describe(*fs);
    ScanOptions reject;
    reject.invalid_utf8 = InvalidUtf8::kReject;
    auto r = s.Scan(msg, reject);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), "invalid UTF-8 at byte 3");
    EXPECT_TRUE(fuzz::IsValidUtf8(filter->Normalize(msg)));
    EXPECT_EQ(filter->Normalize(msg), "加微信");
  }
}

// Control, format and other invisible characters are removed or skipped, so they cannot hide a
// phrase, and they count in the original spans.
TEST(Catalogue, ControlFormatAndInvisibleCharacters) {
  const std::pair<const char*, std::string> cases[] = {
      {"NUL", std::string(1, '\0')},
      {"C0 controls", "\x01\x02\x1b\x1f"},
      {"DEL", "\x7f"},
      {"C1 controls", "\xc2\x80\xc2\x9f"},
      {"BOM in the middle", "\xef\xbb\xbf"},
      {"right-to-left override", "\xe2\x80\xae"},
      {"left-to-right mark", "\xe2\x80\x8e"},
      {"zero width space, joiner, non-joiner", "\xe2\x80\x8b\xe2\x80\x8d\xe2\x80\x8c"},
      {"word joiner", "\xe2\x81\xa0"},
      {"soft hyphen", "\xc2\xad"},
      {"variation selector 16", "\xef\xb8\x8f"},
      {"tag space (U+E0020)", "\xf3\xa0\x80\xa0"},
      {"ideographic space", "\xe3\x80\x80"},
      {"line and paragraph separators", "\xe2\x80\xa8\xe2\x80\xa9"},
      {"U+FFFD itself", "\xef\xbf\xbd"},
  };
  auto filter = fuzz::DefaultFilter();
  Scanner s = MakeScanner(filter);
  for (const auto& [what, chars] : cases) {
    SCOPED_TRACE(what);
    const std::string msg = "亲，加" + chars + "微" + chars + "信";
    auto fs = s.Scan(msg);
    ASSERT_TRUE(fs.ok());
    ASSERT_FALSE(fs->empty());
    EXPECT_EQ((*fs)[0].rule_id(), "off_platform.wechat");
    // The channel 微…信 with the characters inside it; 加 before them is the rule's context.
    EXPECT_EQ((*fs)[0].bytes.begin, 9u + chars.size());
    EXPECT_EQ((*fs)[0].bytes.end, msg.size());
    // A BOM or control characters at the very start change nothing either.
    auto lead = s.Scan(chars + "加微信");
    ASSERT_TRUE(lead.ok());
    ASSERT_FALSE(lead->empty());
    EXPECT_EQ((*lead)[0].bytes.begin, chars.size() + 3);
  }
}

// Mixed scripts, combining marks, private-use characters and noncharacters: never a crash, spans
// always valid. (Combining marks after Han, noncharacters and private-use characters are noise
// and hide nothing: the two tests below.)
TEST(Catalogue, MixedScriptsAndUnusualCodePoints) {
  const std::string messages[] = {
      "加 vх 聊",                          // Cyrillic х
      "ΑΒΓ加微信αβγ",                        // Greek around
      "مرحبا 加微信 שלום",                   // Arabic and Hebrew (right to left)
      "안녕하세요 加微信 こんにちは",         // Hangul, kana
      "加\xcc\xb8微\xcc\xb7信",              // combining marks (Zalgo)
      "加\xef\xbf\xbe微信",                  // noncharacter U+FFFE
      "加\xee\x80\x80微信",                  // private use U+E000
      "加\xf4\x8f\xbf\xbf微信",              // U+10FFFF
      "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9 加微信",  // emoji ZWJ sequence
      "ｖｘ号ＡＢＣ１２３４",                // full width
      "加\xe2\x80\xae信微",                  // RTL override reversing the display
  };
  auto filter = fuzz::DefaultFilter();
  Scanner s = MakeScanner(filter);
  for (const std::string& m : messages) {
    SCOPED_TRACE(fuzz::Hex(m));
    auto fs = s.Scan(m);
    ASSERT_TRUE(fs.ok());
    for (const Finding& f : *fs) fuzz::CheckFinding(f, m, CharIndex(m), "mixed");
    auto rw = s.Rewrite(m);
    ASSERT_TRUE(rw.ok());
    EXPECT_TRUE(rw->clean) << rw->text;
    EXPECT_TRUE(fuzz::IsValidUtf8(filter->Normalize(m)));
  }
}

// Code points that mean nothing to a reader (private-use characters, noncharacters) are noise:
// slipped between the characters of a phrase they must not hide it, and the finding's span
// covers them. Regression test for docs/reliability.md "Open" item 1.
TEST(Catalogue, PrivateUseAndNoncharactersDoNotHideAPhrase) {
  const std::pair<const char*, std::string> cases[] = {
      {"U+E000 private use", "\xee\x80\x80"},
      {"U+F8FF private use", "\xef\xa3\xbf"},
      {"U+F0000 supplementary private use", "\xf3\xb0\x80\x80"},
      {"U+10FFFD supplementary private use", "\xf4\x8f\xbf\xbd"},
      {"U+FFFE noncharacter", "\xef\xbf\xbe"},
      {"U+FDD0 noncharacter", "\xef\xb7\x90"},
      {"U+1FFFF noncharacter", "\xf0\x9f\xbf\xbf"},
      {"U+10FFFF noncharacter", "\xf4\x8f\xbf\xbf"},
  };
  auto filter = fuzz::DefaultFilter();
  Scanner s = MakeScanner(filter);
  for (const auto& [name, cp] : cases) {
    SCOPED_TRACE(name);
    const std::string m = "您加" + cp + "微" + cp + "信吧";
    auto fs = s.Scan(m);
    ASSERT_TRUE(fs.ok());
    bool found = false;
    for (const Finding& f : *fs) {
      fuzz::CheckFinding(f, m, CharIndex(m), "hidden");
      if (f.category() == "off_platform") {
        found = true;
        EXPECT_EQ(f.text, "微" + cp + "信");  // the channel; 加 is its context
      }
    }
    EXPECT_TRUE(found) << fuzz::Describe(*fs);
    EXPECT_EQ(filter->Normalize(m), "您加微信吧");
  }
  // Ordinary text around such characters is normalised as usual (they only disappear; an
  // accented Latin letter folds to its plain letter).
  EXPECT_EQ(filter->Normalize("Caf\xc3\xa9 \xee\x80\x80OK"), "cafeok");
  EXPECT_EQ(filter->Normalize("\xe7\xbb\x9f \xee\x80\x80\xe4\xb8\x80"), "\xe7\xbb\x9f\xe4\xb8\x80");
}

// Nonspacing combining marks (Mn) after a character of a script written without them (Han, kana,
// Hangul, Bopomofo), after noise or at the start of a message are noise: 加̸微̷信 must not hide
// 微信. After letters of scripts that use marks (Latin, Greek, Cyrillic, Thai, Devanagari...) they
// are kept, as before. Every path agrees: Scan, ScanBatch (a message's first mark does not look
// at the previous message) and StreamScanner (the character before a mark may be in an earlier
// chunk). Regression test for docs/reliability.md "Open" item 1 (issue 8).
TEST(Catalogue, CombiningMarksDoNotHideAPhrase) {
  struct Case {
    const char* what;
    std::string message;
    std::string span;  // the off_platform.wechat finding's text
  };
  const Case cases[] = {
      // The span is the channel (微信 with its marks); 加 before it is the rule's context.
      {"U+0338 and U+0337", "您加\u0338微\u0337信吧", "微\u0337信"},
      {"several marks", "加\u0301微\u0308\u0323信", "微\u0308\u0323信"},
      {"marks after noise", "加\uff0c\u0301微信", "微信"},
      {"marks after a space and a mark", "加 \u0301\u0302微\u20d2信", "微\u20d2信"},
      {"a mark starting the message", "\u0301加微\u0301信", "微\u0301信"},
  };
  auto filter = fuzz::DefaultFilter();
  Scanner s = MakeScanner(filter);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto fs = s.Scan(c.message);
    ASSERT_TRUE(fs.ok());
    bool found = false;
    for (const Finding& f : *fs) {
      fuzz::CheckFinding(f, c.message, CharIndex(c.message), "marks");
      if (f.rule_id() == "off_platform.wechat") {
        found = true;
        EXPECT_EQ(f.text, c.span);
      }
    }
    EXPECT_TRUE(found) << fuzz::Describe(*fs);
  }
  EXPECT_EQ(filter->Normalize("加\u0338微\u0337信"), "加微信");
  EXPECT_EQ(filter->Normalize("\u0301\u0302加"), "加");
  // Kana, Hangul and Bopomofo carriers.
  EXPECT_EQ(filter->Normalize("カ\u0301ト\u0308ク"), "カトク");
  EXPECT_EQ(filter->Normalize("카\u0301톡\u0336"), "카톡");
  EXPECT_EQ(filter->Normalize("ㄅ\u0301ㄆ"), "ㄅㄆ");
  // Marks after letters of other scripts are kept, exactly as before this rule (the expected
  // strings are the normaliser's output before it).
  EXPECT_EQ(filter->Normalize("Cafe\u0301"), "cafe\u0301");
  EXPECT_EQ(filter->Normalize("Vie\u0323\u0302t Nam"), "vie\u0323\u0302tnam");
  EXPECT_EQ(filter->Normalize("สวัสดีครับ"), "สวัสดีครับ");
  EXPECT_EQ(filter->Normalize("नमस्ते दुनिया"), "नमस्तेदुनिया");
  EXPECT_EQ(filter->Normalize("α\u0301 и\u0306"), "α\u0301и\u0306");
  EXPECT_EQ(filter->Normalize("加v\u0301信"), "加v\u0301信");

  // ScanBatch and StreamScanner give Scan's findings. "好" then "\u0301加v信": a mark starting a
  // message is noise whatever the previous message ended with; "Cafe" then "\u0301..." likewise.
  std::vector<std::string> messages;
  for (const Case& c : cases) messages.push_back(c.message);
  for (const char* m : {"好", "\u0301加v信", "Cafe", "\u0301\u0302加微信", "加v\u0301信", "加微e\u0301信",
                        "Vie\u0323\u0302t 加微\u0301信", "สวัสดี加\u0e31微信", "加\u0301"})
    messages.push_back(m);
  auto key = [](const std::vector<Finding>& fs) {
    std::vector<std::tuple<std::string, size_t, size_t>> k;
    for (const Finding& f : fs) k.emplace_back(std::string(f.rule_id()), f.bytes.begin, f.bytes.end);
    return k;
  };
  std::vector<std::string_view> views(messages.begin(), messages.end());
  auto batch = s.ScanBatch(views);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->size(), messages.size());
  auto stream = StreamScanner::Create(filter);
  ASSERT_TRUE(stream.ok()) << stream.status();
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& m = messages[i];
    SCOPED_TRACE(::testing::PrintToString(m));
    auto alone = s.Scan(m);
    ASSERT_TRUE(alone.ok());
    EXPECT_EQ(key((*batch)[i]), key(*alone));
    // One byte at a time, then each whole character at a time.
    for (int way = 0; way < 2; ++way) {
      stream->Reset();
      const std::vector<int64_t> chars = CharIndex(m);
      size_t from = 0;
      for (size_t pos = 1; pos <= m.size(); ++pos) {
        if (way == 1 && pos < m.size() && chars[pos] < 0) continue;
        ASSERT_TRUE(stream->Write(std::string_view(m).substr(from, pos - from)).ok());
        from = pos;
      }
      auto done = stream->Finish();
      ASSERT_TRUE(done.ok()) << done.status();
      std::vector<Finding> streamed(stream->findings().begin(), stream->findings().end());
      auto expected = key(*alone);
      auto got = key(streamed);
      std::sort(expected.begin(), expected.end());
      std::sort(got.begin(), got.end());
      EXPECT_EQ(got, expected) << "way " << way;
    }
  }
}

std::string TempPath(const std::string& name) { return ::testing::TempDir() + "/" + name; }

void Write(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The format's checksum (as tests/serialization_test.cc restates it).
void FixChecksum(std::string* blob) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(blob->data());
  size_t n = blob->size() - 8;
  uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 29;
  for (int i = 0; i < 8; ++i) (*blob)[blob->size() - 8 + i] = static_cast<char>(h >> (8 * i));
}

TEST(Catalogue, DatabaseFiles) {
  auto core = fuzz::CoreFilter();
  std::string blob = *core->Serialize();
  struct Case {
    const char* what;
    std::string bytes;
    absl::StatusCode code;
    const char* says;
  };
  // A database made for another CPU: the platform string follows magic(8) version(4) hash(8)
  // and the engine version (u64 length + bytes).
  std::string other_cpu = blob;
  other_cpu[8 + 4 + 8 + 8 + core->info().engine_version.size() + 8] ^= 0x01;
  FixChecksum(&other_cpu);
  std::string other_version = blob;
  other_version[8] = static_cast<char>(other_version[8] + 1);  // the next version
  FixChecksum(&other_version);
  const Case cases[] = {
      {"empty file", "", absl::StatusCode::kInvalidArgument, "bad magic"},
      {"one byte", "S", absl::StatusCode::kInvalidArgument, "bad magic"},
      {"text file", "%format scriptqa-rules 1\n", absl::StatusCode::kInvalidArgument, "bad magic"},
      {"gzip file", "\x1f\x8b\x08\x00\x00\x00\x00\x00", absl::StatusCode::kInvalidArgument, "bad magic"},
      {"header only", blob.substr(0, 20), absl::StatusCode::kDataLoss, "checksum"},
      {"truncated", blob.substr(0, blob.size() / 2), absl::StatusCode::kDataLoss, "checksum"},
      {"one bit flipped", [&] { std::string b = blob; b[b.size() / 3] ^= 4; return b; }(),
       absl::StatusCode::kDataLoss, "checksum"},
      {"trailing garbage", blob + "xx", absl::StatusCode::kDataLoss, "checksum"},
      {"another CPU", other_cpu, absl::StatusCode::kFailedPrecondition, "platform"},
      {"another format version", other_version, absl::StatusCode::kFailedPrecondition, "recompile"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string path = TempPath("bad.sqdb");
    Write(path, c.bytes);
    auto f = Filter::LoadFile(path);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.status().code(), c.code) << f.status();
    EXPECT_NE(f.status().message().find(c.says), absl::string_view::npos) << f.status();
    EXPECT_NE(f.status().message().find(path), absl::string_view::npos) << "names the file";
    std::remove(path.c_str());
  }
  // A directory and a missing file.
  auto dir = Filter::LoadFile(::testing::TempDir());
  EXPECT_FALSE(dir.ok());
  auto missing = Filter::LoadFile(TempPath("no-such.sqdb"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST(Catalogue, DictionariesOutsideTheErrorTable) {
  auto load = [](const std::string& text, DictionarySource::Kind kind = DictionarySource::Kind::kRules) {
    DictionarySource src = DictionarySource::Text("case.rules", text);
    src.kind = kind;
    return Filter::FromDictionaries({src});
  };
  const std::string head = "%format scriptqa-rules 1\n%default category ad_law\n%default severity review\n";
  // Only a header and comments: no rules.
  auto none = load(head + "# nothing\n");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(none.status().message().find("no rules"), absl::string_view::npos) << none.status();
  // An empty in-memory source is read from its path (DictionarySource::content "" = "use path").
  auto empty = Filter::FromDictionaries({DictionarySource::Text("/nonexistent/x.rules", "")});
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("/nonexistent/x.rules: cannot open"),
            absl::string_view::npos) << empty.status();
  // A NUL byte in a dictionary line is an error naming the line.
  auto nul = load(head + "rule a.nul\n  literal 最" + std::string(1, '\0') + "佳\n  reason r\n");
  ASSERT_FALSE(nul.ok());
  EXPECT_NE(nul.status().message().find("case.rules:5: rule a.nul: NUL byte in line"),
            absl::string_view::npos) << nul.status();
  // Long lines: a literal of 5,000 CJK characters (15,000 bytes) and a 100 KB reason load; the
  // engine's literal limit is 16,000 normalised bytes, and a longer literal is an error naming
  // the rule.
  std::string literal5000;
  for (int i = 0; i < 5000; ++i) literal5000 += "佳";
  auto longline = load(head + "rule a.long\n  literal " + literal5000 + "\n  reason " +
                       std::string(100000, 'r') + "\n");
  EXPECT_TRUE(longline.ok()) << longline.status().message().substr(0, 200);
  auto toolong = load(head + "rule a.long\n  literal " + literal5000 + literal5000 + "\n  reason r\n");
  ASSERT_FALSE(toolong.ok());
  EXPECT_EQ(toolong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(toolong.status().message().find("rule a.long: engine rejected literal: Pattern length exceeds limit"),
            absl::string_view::npos) << toolong.status();
  // A byte order mark in the middle of a file is a zero-width character: removed from terms.
  auto bom = load(head + "rule a.bom\n  literal 最\xef\xbb\xbf佳\n  reason r\n");
  ASSERT_TRUE(bom.ok()) << bom.status();
  EXPECT_EQ((*bom)->rules()[0].literals.size(), 1u);
  // Term list: NUL, CR, a TAB without suggestion, a line of noise only.
  DictionarySource terms = DictionarySource::Text(
      "x.terms", "%format scriptqa-terms 1\n%category ad_law\n%severity review\n%reason r\n"
                 "最牛\r\n顶级\t\n\xef\xbc\x81\xef\xbc\x81\n");
  auto t = Filter::FromDictionaries({terms});
  if (!t.ok()) {
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(t.status().message().find("x.terms:7"), absl::string_view::npos) << t.status();
  }
  // Rule ids at and over the 64-byte limit.
  auto id64 = load(head + "rule " + std::string(64, 'a') + "\n  literal 最佳\n  reason r\n");
  EXPECT_TRUE(id64.ok()) << id64.status();
  auto id65 = load(head + "rule " + std::string(65, 'a') + "\n  literal 最佳\n  reason r\n");
  EXPECT_FALSE(id65.ok());
}

}  // namespace
}  // namespace scriptqa
