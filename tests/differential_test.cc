// Differential test: for literal term lists (no contexts), scriptqa must find exactly what plain
// substring search over the normalised text finds, and every finding's original span must
// normalise back to its term (which checks the offset map).
#include <gtest/gtest.h>

#include <iterator>
#include <random>
#include <set>
#include <tuple>

#include "scriptqa/scanner.h"
#include "test_util.h"

namespace scriptqa {
namespace {

using Hit = std::tuple<std::string, size_t, size_t>;  // rule id, normalised span

bool AsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// The reference normalises a message piece by piece (each piece is one character, or a run of
// invalid bytes) and remembers where skipped pieces separated two output characters: an ASCII
// letter touching a term only counts when nothing was skipped between them. It also remembers
// where clause punctuation (，。！) was: a term is not read across such a break when both sides of
// it have two characters or more, or when it ends a sentence (。！) and neither side is a whole
// clause of one character; and a term beginning (ending) with a digit is not read after
// (before) another digit unless a clause break separates them.
std::set<Hit> Reference(const Filter& f, const std::vector<std::string>& norm_terms,
                        const std::vector<std::string>& pieces) {
  std::set<Hit> out;
  std::string n;
  std::set<size_t> gap_before;
  std::set<size_t> breaks;  // output offsets before which a clause ended
  std::set<size_t> ends;    // … a sentence ended
  bool skipped = false;
  for (const std::string& piece : pieces) {
    std::string p = f.Normalize(piece);
    if (p.empty()) {
      skipped = true;
      if (piece == "，" || piece == "。" || piece == "！") breaks.insert(n.size());
      if (piece == "。" || piece == "！") ends.insert(n.size());
      continue;
    }
    if (skipped && !n.empty()) gap_before.insert(n.size());
    skipped = false;
    n += p;
  }
  auto letter_touches = [&](size_t pos, char c) { return AsciiLetter(c) && !gap_before.count(pos); };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  auto chars = [&](size_t b, size_t e) {
    size_t k = 0;
    for (size_t i = b; i < e; ++i) k += (static_cast<unsigned char>(n[i]) & 0xC0) != 0x80;
    return k;
  };
  auto across_clauses = [&](size_t b, size_t e) {
    size_t lo = b;
    for (auto it = breaks.upper_bound(b); it != breaks.end() && *it < e; ++it) {
      auto nx = std::next(it);
      const size_t next = nx != breaks.end() && *nx < e ? *nx : e;
      if (chars(lo, *it) >= 2 && chars(*it, next) >= 2) return true;
      if (ends.count(*it)) {  // only a whole one-character clause on a side is noise there
        const size_t lb = it == breaks.begin() ? 0 : *std::prev(it);
        const size_t re = nx == breaks.end() ? n.size() : *nx;
        if (chars(lb, *it) != 1 && chars(*it, re) != 1) return true;
      }
      lo = *it;
    }
    return false;
  };
  for (size_t i = 0; i < norm_terms.size(); ++i) {
    const std::string& t = norm_terms[i];
    for (size_t p = n.find(t); p != std::string::npos; p = n.find(t, p + 1)) {
      if (AsciiLetter(t.front()) && p > 0 && letter_touches(p, n[p - 1])) continue;
      size_t e = p + t.size();
      if (AsciiLetter(t.back()) && e < n.size() && letter_touches(e, n[e])) continue;
      if (digit(t.front()) && p > 0 && digit(n[p - 1]) && !breaks.count(p)) continue;
      if (digit(t.back()) && e < n.size() && digit(n[e]) && !breaks.count(e)) continue;
      if (across_clauses(p, e)) continue;
      out.emplace(f.rules()[i].id, p, e);
    }
  }
  return out;
}

// Splits valid UTF-8 into characters (test messages of real text only).
std::vector<std::string> Chars(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

void Compare(const Filter& f, Scanner& s, const std::vector<std::string>& norm_terms,
             const std::vector<std::string>& pieces) {
  std::string text;
  for (const std::string& p : pieces) text += p;
  ScanOptions all;
  all.overlap = Overlap::kAll;
  auto e = s.Explain(text, all);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->normalized, f.Normalize(text));
  std::set<Hit> got;
  for (const Trace& t : e->traces)
    if (t.decision == Decision::kReported) got.emplace(t.rule->id, t.normalized.begin, t.normalized.end);
  ASSERT_EQ(got, Reference(f, norm_terms, pieces)) << text;
  auto fs = s.Scan(text, all);
  ASSERT_TRUE(fs.ok());
  ASSERT_EQ(fs->size(), got.size());
  for (const Finding& fd : *fs) {
    EXPECT_EQ(f.Normalize(fd.text), norm_terms[fd.rule->index]) << text;
    EXPECT_EQ(fd.text, std::string_view(text).substr(fd.bytes.begin, fd.bytes.size()));
    EXPECT_LE(fd.chars.begin, fd.chars.end);
  }
}

std::shared_ptr<const Filter> TermFilter(const std::vector<std::string>& terms,
                                         std::vector<std::string>* norm_terms) {
  std::string list;
  for (const auto& t : terms) list += t + "\n";
  DictionarySource src = DictionarySource::Text("terms.txt", list);
  src.kind = DictionarySource::Kind::kTermList;
  src.category = "ad_law";
  auto f = Filter::FromDictionaries({src});
  EXPECT_TRUE(f.ok()) << f.status();
  for (const Rule& r : (*f)->rules()) norm_terms->push_back((*f)->Normalize(r.literals[0]));
  return *f;
}

TEST(Differential, RandomMessagesWithEvasionNoise) {
  const std::vector<std::string> alphabet = {"加", "微", "信", "最", "佳", "第", "一", "好", "评",
                                             "绝", "对", "絕", "對", "ｖ", "x", "V", "1", "0", "%",
                                             "q", "的", "您"};
  const std::vector<std::string> noise = {" ", "，", "。", "-", "*", "😀", "\u200b", "\xff",
                                          "\xe4\xbd", "　", "！"};
  std::mt19937 rng(20261122);
  std::vector<std::string> terms;
  std::set<std::string> seen_norm;
  std::vector<std::string> dummy;
  auto probe = TermFilter({"占位"}, &dummy);
  while (terms.size() < 60) {
    std::string t;
    int len = 2 + static_cast<int>(rng() % 3);
    for (int i = 0; i < len; ++i) t += alphabet[rng() % alphabet.size()];
    std::string n = probe->Normalize(t);
    if (n.empty() || !seen_norm.insert(n).second) continue;  // one rule per normalised term
    terms.push_back(t);
  }
  std::vector<std::string> norm_terms;
  auto f = TermFilter(terms, &norm_terms);
  auto s = Scanner::Create(f);
  for (int i = 0; i < 3000; ++i) {
    std::vector<std::string> pieces;
    int len = static_cast<int>(rng() % 40);
    for (int k = 0; k < len; ++k)
      pieces.push_back((rng() % 4 == 0) ? noise[rng() % noise.size()] : alphabet[rng() % alphabet.size()]);
    Compare(*f, *s, norm_terms, pieces);
    if (HasFatalFailure()) return;
  }
}

TEST(Differential, RealAgentMessages) {
  std::vector<std::string> msgs = testing::CorpusAgentMessages(4000);
  // Without the corpus, synthetic agent talk stands in (written for this test).
  if (msgs.empty())
    msgs = {"您好，请问有什么可以帮您？", "订单已经为您催促了，请您耐心等待。", "亲，商品已经发货了哦",
            "这边帮您申请售后，您看可以吗", "快递明天送达，请保持电话畅通"};
  std::vector<std::string> norm_terms;
  auto f = TermFilter({"您好", "订单", "可以", "我们", "商品", "快递", "亲", "售后", "申请", "电话",
                       "耐心", "帮您", "一下", "的", "哦", "请"},
                      &norm_terms);
  auto s = Scanner::Create(f);
  for (const std::string& m : msgs) {
    Compare(*f, *s, norm_terms, Chars(m));
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace scriptqa
