#include "resolve.h"

#include <algorithm>
#include <cstring>
#include <tuple>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "utf8.h"
#include "validators.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace scriptqa::internal {

namespace {

bool IsAsciiAlpha(uint32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiDigit(uint32_t c) { return c >= '0' && c <= '9'; }

size_t MaxSize(const std::vector<std::string>& terms) {
  size_t m = 0;
  for (const std::string& t : terms) m = std::max(m, t.size());
  return m;
}

}  // namespace

uint32_t CpBefore(std::string_view s, size_t pos) {
  if (pos == 0) return kInvalidCp;
  size_t b = pos - 1;
  while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
  int len;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  return DecodeUtf8(p + b, p + pos, &len);
}

uint32_t CpAt(std::string_view s, size_t pos) {
  if (pos >= s.size()) return kInvalidCp;
  int len;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  return DecodeUtf8(p + pos, p + s.size(), &len);
}

size_t BackChars(std::string_view s, size_t pos, uint32_t n) {
  if (pos <= n) return 0;  // a character is at least a byte: the walk reaches the start
  // Each step moves to the previous byte that is not a continuation byte (or to 0). Eight bytes
  // at a time while the walk does not end inside them (nor reach byte 0, where it always stops).
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (pos > 8) {
    const uint32_t count = CharStarts8(p + pos - 8);
    if (count >= n) break;
    n -= count;
    pos -= 8;
  }
  while (n > 0 && pos > 0) {
    --pos;
    while (pos > 0 && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) --pos;
    --n;
  }
  return pos;
}

size_t ForwardChars(std::string_view s, size_t pos, uint32_t n, uint32_t* missing) {
  if (pos <= s.size() && s.size() - pos <= n) {
    // The walk reaches the end: count the characters it would step over instead (a first byte
    // inside a character is a step of its own, as below).
    if (missing) {
      const std::string_view rest = s.substr(pos);
      const size_t chars = CountValidChars(rest) +
                           (!rest.empty() && (static_cast<unsigned char>(rest[0]) & 0xC0) == 0x80);
      *missing = n - static_cast<uint32_t>(chars);
    }
    return s.size();
  }
  // Each step moves past one byte and the continuation bytes after it: the result is the n-th
  // byte after pos that is not a continuation byte (or the end). Eight bytes at a time while the
  // walk does not end inside them.
  if (n > 0 && pos < s.size()) {
    ++pos;
    --n;
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    while (s.size() - pos >= 8) {
      const uint32_t count = CharStarts8(p + pos);
      if (count > n) break;  // the walk ends at a start inside these eight bytes
      n -= count;
      pos += 8;
    }
    // Byte by byte: past continuation bytes, then one more character per remaining step.
    while (pos < s.size() && (p[pos] & 0xC0) == 0x80) ++pos;
    while (n > 0 && pos < s.size()) {
      ++pos;
      while (pos < s.size() && (p[pos] & 0xC0) == 0x80) ++pos;
      --n;
    }
  }
  if (missing) *missing = n;
  return pos;
}

namespace {

// Whether an occurrence of t covers [nb, ne).
bool Covers(std::string_view s, std::string_view t, size_t nb, size_t ne) {
  // An occurrence of t covers [nb, ne) when it starts in [ne - |t|, nb], so it lies inside
  // s[ne - |t|, nb + |t|). Searching only that window bounds the cost per hit by the terms'
  // length: searching on to the end of the message made n hits cost O(n²).
  if (t.size() < ne - nb) return false;
  const size_t lo = ne >= t.size() ? ne - t.size() : 0;
  const size_t hi = std::min(s.size(), nb + t.size());
  if (hi < lo + t.size()) return false;
  return s.substr(lo, hi - lo).find(t) != std::string_view::npos;
}

}  // namespace

const std::string* Covering(std::string_view s, const std::vector<std::string>& terms, size_t nb,
                            size_t ne) {
  for (const std::string& t : terms)
    if (Covers(s, t, nb, ne)) return &t;
  return nullptr;
}

namespace {

// Code points in s[lo, hi) (bytes that are not continuation bytes).
size_t CountChars(std::string_view s, size_t lo, size_t hi) {
  return hi > lo ? CountValidChars(std::string_view(s.data() + lo, hi - lo)) : 0;
}

// ---- Scopes and speech acts ----------------------------------------------------------------

// Whether the punctuation that ended a clause at normalised position `b` (clause_breaks) ends a
// sentence, and whether it asks a question. The normaliser removed the punctuation: it is read
// from the original text between the characters on either side. `known` is false when the gap
// may still grow (a stream whose text ends there).
struct BreakKind {
  bool sentence = false;
  bool question = false;
  bool known = true;
};

// What the punctuation in original[from, to) (the source text a clause break stands for) ends.
void ReadBreak(std::string_view original, size_t from, size_t to, BreakKind* k) {
  const auto* p = reinterpret_cast<const unsigned char*>(original.data());
  for (size_t i = from; i < to;) {
    int len;
    const uint32_t cp = DecodeUtf8(p + i, p + to, &len);
    i += static_cast<size_t>(len);
    switch (cp) {
      case '?': case 0xFF1F:
        k->question = true;
        k->sentence = true;
        break;
      case '\n': case '\r': case '!': case ';': case 0x3002: case 0xFF01: case 0xFF1B:
      case 0x2026: case 0xFF61:
        k->sentence = true;
        break;
      default:
        break;
    }
  }
}

// What clause break j (map.clause_breaks[j]) is: a decimal point (ends nothing), or what the
// punctuation it stands for ends (ReadBreak; the last break of a stream's text that may still
// grow is not known yet). A lone full stop between two characters (9.9元, 3.5kg, and 好.评.返.现
// where it is put between every character to dodge a filter) is recorded as a clause break by the
// normaliser; it ends nothing. Chinese ends its clauses and sentences with 。，！？ and line
// breaks.
// A map of runs remembers the answers in map.break_kinds: the scopes of every hit walk the same
// breaks, and InfoOf answers a remembered break inline.
struct BreakInfo {
  bool decimal = false;
  BreakKind kind;
};
constexpr uint8_t kBreakKnown = 1, kBreakDecimal = 2, kBreakSentence = 4, kBreakQuestion = 8;

__attribute__((noinline)) BreakInfo ComputeInfo(std::string_view original, std::string_view s,
                                                const OffsetMap& map, size_t j, bool complete) {
  const bool memo = map.runs_mode();
  if (memo && map.break_kinds.size() != map.clause_breaks.size())
    map.break_kinds.assign(map.clause_breaks.size(), 0);
  const size_t b = map.clause_breaks[j];
  BreakInfo info;
  if (b > 0) {
    size_t from, to;
    if (b < s.size()) {
      std::tie(from, to) = map.Gap(b);  // one lookup for both questions
      info.decimal = to == from + 1 && original[from] == '.';
    } else {  // after the last character
      from = map.End(b - 1);
      to = original.size();
      if (!complete) info.kind.known = false;
    }
    if (!info.decimal && from < to && to <= original.size()) ReadBreak(original, from, to, &info.kind);
  }
  if (memo && info.kind.known) {
    map.break_kinds[j] = static_cast<uint8_t>(kBreakKnown | (info.decimal ? kBreakDecimal : 0) |
                                              (info.kind.sentence ? kBreakSentence : 0) |
                                              (info.kind.question ? kBreakQuestion : 0));
  }
  return info;
}

inline BreakInfo InfoOf(std::string_view original, std::string_view s, const OffsetMap& map,
                        size_t j, bool complete) {
  if (map.runs_mode() && map.break_kinds.size() == map.clause_breaks.size()) {
    if (const uint8_t k = map.break_kinds[j]; k != 0) {
      BreakInfo info;
      info.decimal = (k & kBreakDecimal) != 0;
      info.kind.sentence = (k & kBreakSentence) != 0;
      info.kind.question = (k & kBreakQuestion) != 0;
      return info;
    }
  }
  return ComputeInfo(original, s, map, j, complete);
}

}  // namespace

bool BreakEndsScope(std::string_view original, std::string_view norm, const OffsetMap& map,
                    size_t j, Scope scope) {
  const BreakInfo info = InfoOf(original, norm, map, j, /*complete=*/true);
  return !info.decimal && (scope == Scope::kClause || info.kind.sentence);
}

namespace {

ScopeBounds BoundsOf(std::string_view original, std::string_view s, const OffsetMap& map,
                     size_t nb, size_t ne, Scope scope, bool complete) {
  ScopeBounds out;
  const std::vector<uint32_t>& br = map.clause_breaks;
  // The caps (kMaxScopeChars characters on each side) are walked only when no break ends the
  // scope before them: breaks are usually a few characters away, the caps 64.
  auto cap_lo = [&] { return BackChars(s, nb, kMaxScopeChars); };
  auto cap_hi = [&](ScopeBounds* o) {
    uint32_t missing = 0;
    o->hi = ForwardChars(s, ne, kMaxScopeChars, complete ? nullptr : &missing);
    o->hi_known = complete || missing == 0;
  };
  if (scope == Scope::kMessage) {
    out.lo = cap_lo();
    cap_hi(&out);
    return out;
  }
  // Backwards from the hit: the first break that ends this scope, within the cap.
  bool found = false;
  size_t pos = nb, chars = 0;
  for (auto it = std::upper_bound(br.begin(), br.end(), static_cast<uint32_t>(nb));
       it != br.begin(); --it) {
    const size_t b = *(it - 1);
    chars += CountChars(s, b, pos);
    pos = b;
    if (chars > kMaxScopeChars) break;
    const BreakInfo info =
        InfoOf(original, s, map, static_cast<size_t>(it - 1 - br.begin()), /*complete=*/true);
    if (info.decimal) continue;
    if (scope == Scope::kClause || info.kind.sentence) {
      out.lo = b;
      found = true;
      break;
    }
  }
  if (!found) out.lo = cap_lo();
  // Forwards.
  found = false;
  pos = ne;
  chars = 0;
  for (auto jt = std::lower_bound(br.begin(), br.end(), static_cast<uint32_t>(ne)); jt != br.end();
       ++jt) {
    const size_t b = *jt;
    chars += CountChars(s, pos, b);
    pos = b;
    if (chars > kMaxScopeChars) break;
    const BreakInfo info = InfoOf(original, s, map, static_cast<size_t>(jt - br.begin()), complete);
    if (info.decimal) continue;
    const BreakKind& k = info.kind;
    if (!k.known) break;  // a stream's last gap: what it ends is not known yet
    if (scope == Scope::kClause || k.sentence) {
      out.hi = b;
      out.hi_known = true;
      out.question = k.question;
      found = true;
      break;
    }
  }
  if (!found) cap_hi(&out);
  if (out.hi == s.size() && complete) out.hi_known = true;
  return out;
}

// Where the checks look terms up: through the list's first-characters index (term_index.h), in
// the occurrences the message's earlier lookups found when the scanner keeps them (memo), else by
// searching the text. All answer the same: the first term of the list (in list order) with an
// occurrence lying inside [lo, hi) that accept(begin, end) takes, at its leftmost such occurrence.
struct Lookup {
  const FilterImpl& f;
  std::string_view s;
  TermOccurrences* occ;  // null: each lookup walks its window afresh

  template <typename Accept>
  const std::string* First(const std::vector<std::string>& terms, size_t lo, size_t hi,
                           Accept&& accept, Span* at = nullptr) const {
    if (hi <= lo || terms.empty()) return nullptr;
    size_t pos = 0;
    int64_t i = -1;
    if (const uint32_t id = f.ListId(terms); id != kNoTermList) {
      i = occ ? occ->FirstTerm(id, f.term_indexes[id], terms, lo, hi, accept, &pos)
              : f.term_indexes[id].FirstTerm(s, terms, lo, hi, accept, &pos);
    } else {
      const std::string_view w = s.substr(lo, hi - lo);
      for (size_t k = 0; k < terms.size() && i < 0; ++k) {
        const std::string& t = terms[k];
        for (size_t p = w.find(t); p != std::string_view::npos; p = w.find(t, p + 1)) {
          if (!accept(lo + p, lo + p + t.size())) continue;
          i = static_cast<int64_t>(k);
          pos = lo + p;
          break;
        }
      }
    }
    if (i < 0) return nullptr;
    if (at) *at = {pos, pos + terms[i].size()};
    return &terms[i];
  }
  const std::string* Any(const std::vector<std::string>& terms, size_t lo, size_t hi) const {
    return First(terms, lo, hi, [](size_t, size_t) { return true; });
  }
  // An occurrence of one of `terms` that covers [nb, ne) (Covering()).
  const std::string* Cover(const std::vector<std::string>& terms, size_t nb, size_t ne) const {
    const uint32_t id = f.ListId(terms);
    if (id == kNoTermList) return Covering(s, terms, nb, ne);
    const int64_t i = occ ? occ->Covering(id, f.term_indexes[id], terms, nb, ne)
                          : f.term_indexes[id].Covering(s, terms, nb, ne);
    return i < 0 ? nullptr : &terms[i];
  }
  // The first occurrence of a term inside [lo, hi) that no pseudo-term covers.
  const std::string* Cue(const std::vector<std::string>& terms,
                         const std::vector<std::string>& pseudo, size_t lo, size_t hi) const {
    return First(terms, lo, hi,
                 [&](size_t b, size_t e) { return pseudo.empty() || Cover(pseudo, b, e) == nullptr; });
  }
  // The first occurrence of an exempting term in [lo, hi) that is not itself negated: 无法为您处理
  // and 不帮您 name no next step, 为您处理 does.
  const std::string* Exemption(const std::vector<std::string>& terms, size_t lo, size_t hi) const {
    auto negated = [&](size_t b) {
      const uint32_t c1 = CpBefore(s, b);
      if (c1 == U'不' || c1 == U'没' || c1 == U'别' || c1 == U'莫' || c1 == U'未') return true;
      if (b < 3) return false;
      const uint32_t c2 = CpBefore(s, b - 3);
      return (c1 == U'法' && (c2 == U'无' || c2 == U'没')) ||
             ((c1 == U'能' || c1 == U'会' || c1 == U'可' || c1 == U'用') && c2 == U'不');
    };
    return First(terms, lo, hi, [&](size_t b, size_t) { return !negated(b); });
  }
};

// Whether p[from, to) may hold a quotation or title mark (those Quoted reads: '"', and U+2018,
// U+2019, U+201C, U+201D, U+3008..U+300F, whose UTF-8 is E2 80 xx or E3 80 xx). False is
// certain; most sentences hold none, and this costs a few instructions per 16 bytes instead of
// decoding every character.
bool MayHoldMarks(const unsigned char* p, size_t from, size_t to) {
  auto mark_at = [&](size_t i) {  // p[i] is '"' or 0x80
    if (p[i] == '"') return true;
    if (i == 0 || i + 1 >= to || (p[i - 1] != 0xE2 && p[i - 1] != 0xE3)) return false;
    const unsigned t = p[i + 1];
    return (t >= 0x88 && t <= 0x8F) || (t >= 0x98 && t <= 0x9D);
  };
  size_t i = from;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), cont = _mm_set1_epi8(static_cast<char>(0x80));
  for (; to - i >= 16; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    unsigned m = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, cont))));
    for (; m != 0; m &= m - 1)
      if (mark_at(i + static_cast<size_t>(__builtin_ctz(m)))) return true;
  }
#endif
  for (; i < to; ++i)
    if ((p[i] == '"' || p[i] == 0x80) && mark_at(i)) return true;
  return false;
}

// Quotation marks around the hit in its sentence: sets the normalised span inside them. Read
// from the original text (quotes are noise).
// With title = true, title marks (《》〈〉) instead of quotation marks.
bool Quoted(std::string_view original, std::string_view s, const OffsetMap& map, size_t nb,
            size_t ne, const ScopeBounds& sentence, Span* inside, Span* marks = nullptr,
            bool* opened = nullptr, bool title = false) {
  if (opened) *opened = false;
  if (s.empty() || nb >= s.size()) return false;
  // From the end of the character before the sentence (its break and any opening quote come
  // after it) to the start of the character after it.
  const size_t o_lo = sentence.lo == 0 ? 0 : map.End(sentence.lo - 1);
  const size_t o_nb = map.Begin(nb);
  const auto* p = reinterpret_cast<const unsigned char*>(original.data());
  if (o_lo >= o_nb || !MayHoldMarks(p, o_lo, o_nb)) return false;  // no opening mark before
  const size_t o_ne = map.End(ne - 1);
  const size_t o_hi = sentence.hi < s.size() ? map.Begin(sentence.hi) : original.size();
  auto is_open = [title](uint32_t c) {
    return title ? c == 0x300A || c == 0x3008
                 : c == 0x201C || c == 0x300C || c == 0x300E || c == 0x2018;
  };
  auto is_close = [title](uint32_t c) {
    return title ? c == 0x300B || c == 0x3009
                 : c == 0x201D || c == 0x300D || c == 0x300F || c == 0x2019;
  };
  // The last opening mark before the hit not closed before it.
  size_t open_at = SIZE_MAX;
  int depth = 0;
  bool ascii_open = false;
  size_t ascii_at = 0;
  for (size_t i = o_lo; i < o_nb;) {
    int len;
    const uint32_t c = DecodeUtf8(p + i, p + o_nb, &len);
    if (is_open(c)) {
      ++depth;
      open_at = i + static_cast<size_t>(len);
    } else if (is_close(c) && depth > 0) {
      --depth;
    } else if (c == '"' && !title) {
      ascii_open = !ascii_open;
      ascii_at = i + 1;
    }
    i += static_cast<size_t>(len);
  }
  size_t q_begin;
  bool ascii = false;
  if (depth > 0) {
    q_begin = open_at;
  } else if (ascii_open) {
    q_begin = ascii_at;
    ascii = true;
  } else {
    return false;
  }
  if (opened) *opened = true;
  // The closing mark after the hit.
  for (size_t i = o_ne; i < o_hi;) {
    int len;
    const uint32_t c = DecodeUtf8(p + i, p + o_hi, &len);
    if ((ascii && c == '"') || (!ascii && is_close(c))) {
      // Map both marks to normalised positions.
      auto norm_at = [&](size_t o) {
        return map.FirstAtOrAfter(static_cast<uint32_t>(o), s.size());
      };
      *inside = {norm_at(q_begin), norm_at(i)};
      // Original offsets of the opening mark and of the end of the closing one.
      if (marks) *marks = {q_begin - (ascii ? 1 : 3), i + static_cast<size_t>(len)};
      return true;
    }
    i += static_cast<size_t>(len);
  }
  return false;
}

// A quoted label joined to another quoted label by a path separator on either side, spaces
// allowed: “个人中心”-“我的订单”, 「设置」>「隐私」, "我" → "钱包". `marks` are the original offsets
// of the label's opening mark and of the end of its closing mark.
bool InPath(std::string_view original, Span marks) {
  const auto* p = reinterpret_cast<const unsigned char*>(original.data());
  auto is_sep = [](uint32_t c) {
    return c == '-' || c == '>' || c == '/' || c == 0xFF0D || c == 0xFF1E || c == 0x2192 ||
           c == 0x203A || c == 0x00BB || c == 0x2014 || c == 0x2013 || c == 0xFF0F;
  };
  auto is_mark = [](uint32_t c) {
    return c == '"' || c == 0x201C || c == 0x201D || c == 0x300C || c == 0x300D ||
           c == 0x300E || c == 0x300F;
  };
  auto space = [](uint32_t c) { return c == ' ' || c == 0x3000 || c == '\t'; };
  // After the closing mark: spaces, separators (—— counts once), spaces, an opening mark.
  {
    size_t i = marks.end;
    bool sep = false;
    while (i < original.size()) {
      int len;
      const uint32_t c = DecodeUtf8(p + i, p + original.size(), &len);
      if (space(c)) { i += static_cast<size_t>(len); continue; }
      if (is_sep(c)) { sep = true; i += static_cast<size_t>(len); continue; }
      if (sep && is_mark(c)) return true;
      break;
    }
  }
  // Before the opening mark, backwards: the same in mirror.
  {
    size_t i = marks.begin;
    bool sep = false;
    while (i > 0) {
      size_t j = i - 1;
      while (j > 0 && (p[j] & 0xC0) == 0x80) --j;
      int len;
      const uint32_t c = DecodeUtf8(p + j, p + i, &len);
      if (space(c)) { i = j; continue; }
      if (is_sep(c)) { sep = true; i = j; continue; }
      if (sep && is_mark(c)) return true;
      break;
    }
  }
  return false;
}

}  // namespace

Confirmation Confirm(const FilterImpl& f, const ProfileImpl* profile, const ScanOptions& options,
                     std::string_view original, std::string_view s, const OffsetMap& map,
                     const RawHit& h, bool complete, std::string* detail,
                     CheckMemo* memo) {
  const Lookup L{f, s, memo ? &memo->terms : nullptr};
  const std::vector<uint32_t>& clause_breaks = map.clause_breaks;
  // An ASCII letter next to the hit only counts when nothing was skipped between them in the
  // original: "加vx：abc123" is a contact ID after "加vx", "rvxa" is a word containing "vx".
  // (Digits join across skipped separators on purpose: "138 1234 5678" is one number.)
  auto adjacent_at = [&](size_t pos) {
    if (pos == 0 || pos >= map.size()) return true;
    const auto [end_before, begin_at] = map.Gap(pos);
    return end_before == begin_at;
  };
  auto letter_before = [&](size_t pos) { return adjacent_at(pos) && IsAsciiAlpha(CpBefore(s, pos)); };
  auto letter_at = [&](size_t pos) { return adjacent_at(pos) && IsAsciiAlpha(CpAt(s, pos)); };
  const bool deny = h.rule == kDenyRule;
  const Rule& r = deny ? profile->deny_rule : f.rules[h.rule];
  Confirmation c;
  c.severity = r.severity;
  Decision& d = c.decision;
  auto set = [&](Decision dd, auto&& why) {
    if (d == Decision::kReported) {
      d = dd;
      if (detail) *detail = why();
    }
  };
  // With a prefix of the message, the character after the hit may not be known yet.
  const bool after_known = complete || h.ne < s.size();

  // A literal read across a clause break joins two clauses ("…就能搞定，详情页还有视频" is no
  // 搞定详情页), unless a side of the break is a single character: that is punctuation used as
  // noise (加，微，信; 最.佳). At the end of a sentence (a line break, 。！？) only a clause of one
  // character is ("您好！⏎评价截图…" and "好。评价截图…" are no 好评; 加，微。信 is 加微信).
  // Regexes (numbers in groups: 138，1234，5678) are not affected.
  auto sentence_end_at = [&](size_t b) {
    if (b == 0 || b >= map.size()) return false;
    const auto [from, to] = map.Gap(b);
    if (from >= to || to > original.size()) return false;
    const std::string_view gap = original.substr(from, to - from);
    for (std::string_view end : {"\n", "\r", "\u3002", "\uff01", "\uff1f", "\uff61"})
      if (gap.find(end) != std::string_view::npos) return true;
    return false;
  };
  if (!h.regex && !deny) {
    auto it = std::upper_bound(clause_breaks.begin(), clause_breaks.end(), h.nb);
    size_t piece_lo = h.nb;
    for (; it != clause_breaks.end() && *it < h.ne; ++it) {
      const size_t b = *it;
      const size_t next = (it + 1 != clause_breaks.end() && *(it + 1) < h.ne) ? *(it + 1) : h.ne;
      bool joins = CountChars(s, piece_lo, b) >= 2 && CountChars(s, b, next) >= 2;
      // At the end of a sentence only a whole one-character clause on a side is noise (加，微。信).
      if (!joins && sentence_end_at(b)) {
        const size_t lb = it == clause_breaks.begin() ? 0 : *(it - 1);
        const bool last = it + 1 == clause_breaks.end();
        if (CountChars(s, lb, b) != 1) {
          if (CountChars(s, b, last ? s.size() : *(it + 1)) != 1) {
            joins = true;
          } else if (last && !complete) {
            c.pending = true;  // a prefix: the clause after the last known break may still grow
          }
        }
      }
      if (joins) {
        set(Decision::kAllowContext, [&] {
          return absl::StrCat("read across a clause break ('", std::string(s.substr(piece_lo, b - piece_lo)),
                              "' | '", std::string(s.substr(b, next - b)), "')");
        });
        break;
      }
      piece_lo = b;
    }
  }

  if (!deny && profile) {
    if (!profile->enabled[h.rule]) set(Decision::kDisabled, [] { return "disabled by the profile"; });
    if (profile->severity[h.rule] >= 0) c.severity = static_cast<Severity>(profile->severity[h.rule]);
  }
  if (d == Decision::kReported && r.boundary != Boundary::kNone) {
    bool alpha = r.boundary == Boundary::kAlpha || r.boundary == Boundary::kAlnum;
    bool digit = r.boundary == Boundary::kDigit || r.boundary == Boundary::kAlnum;
    // Digits join across skipped separators (138 1234 5678 is one number), not across the end
    // of a clause ("销量NO.1，1岁以上" is a rank, then an age).
    auto clause_at = [&](size_t pos) {
      return std::binary_search(clause_breaks.begin(), clause_breaks.end(), static_cast<uint32_t>(pos));
    };
    const bool before = (alpha && letter_before(h.nb)) ||
                        (digit && !clause_at(h.nb) && IsAsciiDigit(CpBefore(s, h.nb)));
    const bool after = after_known && ((alpha && letter_at(h.ne)) ||
                                       (digit && !clause_at(h.ne) && IsAsciiDigit(CpAt(s, h.ne))));
    if (before || after) {
      set(Decision::kBoundary, [] { return "touches an ASCII letter or digit"; });
    } else if (!after_known) {
      c.pending = true;
    }
  }
  if (d == Decision::kReported && h.edges != 0) {
    // Digits join across skipped noise (1 5星 reads 15星) but not across a clause break.
    auto digit_before = [&](size_t pos) {
      return pos > 0 && IsAsciiDigit(CpBefore(s, pos)) &&
             !std::binary_search(clause_breaks.begin(), clause_breaks.end(), static_cast<uint32_t>(pos));
    };
    auto digit_at = [&](size_t pos) {
      return pos < s.size() && IsAsciiDigit(CpAt(s, pos)) &&
             !std::binary_search(clause_breaks.begin(), clause_breaks.end(), static_cast<uint32_t>(pos));
    };
    if (((h.edges & kEdgeLeft) && letter_before(h.nb)) ||
        (after_known && (h.edges & kEdgeRight) && letter_at(h.ne))) {
      set(Decision::kBoundary, [] { return "touches an ASCII letter"; });
    } else if (((h.edges & kEdgeLeftDigit) && digit_before(h.nb)) ||
               (after_known && (h.edges & kEdgeRightDigit) && digit_at(h.ne))) {
      set(Decision::kBoundary, [] { return "touches an ASCII digit"; });
    } else if (!after_known && (h.edges & (kEdgeRight | kEdgeRightDigit))) {
      c.pending = true;
    }
  }
  if (d == Decision::kReported && !r.allow.empty()) {
    if (const std::string* a = L.Cover(r.allow, h.nb, h.ne)) {
      set(Decision::kAllowContext, [&] { return absl::StrCat("inside allow-context '", *a, "'"); });
    } else if (!complete && h.nb + MaxSize(r.allow) > s.size()) {
      c.pending = true;  // an allow-context starting at or before the hit may still complete
    }
  }
  if (d == Decision::kReported && !r.allow_after.empty()) {
    for (const std::string& t : r.allow_after) {
      if (h.ne + t.size() <= s.size() && s.substr(h.ne, t.size()) == t) {
        set(Decision::kAllowContext, [&] { return absl::StrCat("followed by allow-after '", t, "'"); });
        break;
      }
    }
    if (d == Decision::kReported && !complete && h.ne + MaxSize(r.allow_after) > s.size())
      c.pending = true;  // the text that could follow the hit has not arrived yet
  }
  if (d == Decision::kReported && !r.allow_before.empty()) {
    for (const std::string& t : r.allow_before) {
      if (h.nb >= t.size() && s.substr(h.nb - t.size(), t.size()) == t) {
        set(Decision::kAllowContext, [&] { return absl::StrCat("preceded by allow-before '", t, "'"); });
        break;
      }
    }
  }
  if (d == Decision::kReported && !r.negate.empty()) {
    // Only text before the hit matters, and clause breaks at or before its start are final.
    size_t lo = BackChars(s, h.nb, r.window);
    auto it = std::upper_bound(clause_breaks.begin(), clause_breaks.end(), h.nb);
    if (it != clause_breaks.begin()) lo = std::max<size_t>(lo, *(it - 1));
    if (const std::string* cue = L.Any(r.negate, lo, h.nb))
      set(Decision::kNegated, [&] { return absl::StrCat("negation cue '", *cue, "' before it"); });
  }
  // The hit's clause, sentence and message, each computed once when first asked for.
  ScopeBounds local_bounds[3];
  bool local_have[3] = {false, false, false};
  ScopeBounds* scope_bounds = local_bounds;
  bool* have_scope = local_have;
  if (memo && complete) {  // hits of several rules on the same words share their scopes
    memo->Span(h.nb, h.ne);
    scope_bounds = memo->scopes;
    have_scope = memo->have;
  }
  auto bounds_of = [&](Scope sc) -> const ScopeBounds& {
    const int i = sc == Scope::kClause ? 0 : sc == Scope::kSentence ? 1 : 2;
    if (!have_scope[i]) {
      scope_bounds[i] = BoundsOf(original, s, map, h.nb, h.ne, sc, complete);
      have_scope[i] = true;
    }
    return scope_bounds[i];
  };
  auto missing_companion = [&](const Companions& group) {
    set(Decision::kMissingContext, [&] {
      return absl::StrCat("no companion (", group.terms.front(), group.terms.size() > 1 ? " …" : "",
                          ") ", group.side == Side::kBefore ? "before it " : group.side == Side::kAfter ? "after it " : "",
                          "in its ", r.scope == Scope::kClause ? "clause"
                                     : r.scope == Scope::kSentence ? "sentence" : "message");
    });
  };
  // Whether a term of `group` stands in [lo, hi) on its side of the hit: before it, after it, or
  // overlapping it where it extends past it (好评 and 好评返现 are one phrase, but the hit alone is
  // no companion of itself: any occurrence that does not lie inside the hit, by one lookup).
  auto companion_in = [&](const Companions& group, size_t lo, size_t hi)
                          __attribute__((always_inline)) {
    if (group.side == Side::kBefore) return L.Any(group.terms, lo, h.nb) != nullptr;
    if (group.side == Side::kAfter) return L.Any(group.terms, h.ne, hi) != nullptr;
    return L.First(group.terms, lo, hi, [&](size_t b, size_t e) { return b < h.nb || e > h.ne; }) !=
           nullptr;
  };
  // The `within` window around the hit, unclipped by the scope (for a complete text: a prefix's
  // window may still grow, and the check below asks how much of it has arrived).
  size_t within_lo = 0, within_hi = 0;
  const bool within_known = d == Decision::kReported && r.within && complete && !r.with.empty();
  if (within_known) {
    within_lo = BackChars(s, h.nb, r.within);
    within_hi = ForwardChars(s, h.ne, r.within, nullptr);
  }
  // Companions within `within` characters of the hit, looked for first in that window: it holds
  // every place a companion may stand, so a group absent from it is absent, and the hit's scope
  // need not be computed (most hits of these rules lack their companion: 评价 is the hit of four
  // of them). Where one is there, the check below decides. Before the exemptions: a hit that
  // lacks its companion is no finding whatever else is said.
  if (within_known) {
    for (const Companions& group : r.with) {
      if (!companion_in(group, within_lo, within_hi)) {
        missing_companion(group);
        break;
      }
    }
  }
  // Terms that exempt the hit when they stand right before or after it in its clause.
  if (d == Decision::kReported && (!r.unless_before.empty() || !r.unless_after.empty())) {
    auto bounds = [&](const WindowedTerms& w) -> const ScopeBounds& {
      return bounds_of(w.sentence ? Scope::kSentence : Scope::kClause);
    };
    for (const WindowedTerms& w : r.unless_before) {
      const size_t lo = std::max(bounds(w).lo, BackChars(s, h.nb, w.window));
      const std::string* found = nullptr;
      if (r.reset_by.empty()) {
        found = L.Any(w.terms, lo, h.nb);
      } else {
        // Only an occurrence with no reset term between it and the hit counts.
        found = L.First(w.terms, lo, h.nb,
                        [&](size_t, size_t e) { return L.Any(r.reset_by, e, h.nb) == nullptr; });
      }
      if (found) {
        set(Decision::kAllowContext, [&] { return absl::StrCat("preceded by unless-before '", *found, "'"); });
        break;
      }
    }
    for (const WindowedTerms& w : r.unless_after) {
      if (d != Decision::kReported) break;
      uint32_t missing = 0;
      const ScopeBounds& sc = bounds(w);
      const size_t hi =
          std::min(sc.hi, ForwardChars(s, h.ne, w.window, complete ? nullptr : &missing));
      if (const std::string* t = L.Any(w.terms, h.ne, hi)) {
        set(Decision::kAllowContext, [&] { return absl::StrCat("followed by unless-after '", *t, "'"); });
      } else if (!complete && missing > 0 && !sc.hi_known) {
        c.pending = true;
      }
    }
  }
  // Companions that must be in the scope, then terms anywhere in it that exempt the hit. (Before
  // the speech acts, and companions first: a hit without its companion is no finding whatever is
  // said around it, most hits of the rules that need one have none, and their lists are short
  // beside the exemptions'. Either order gives the same findings; a hit that lacks its companion
  // and has an exemption is traced as missing its companion.)
  if (d == Decision::kReported && (!r.unless.empty() || !r.with.empty())) {
    const ScopeBounds& sc = bounds_of(r.scope);
    // with: in the scope, within `within` characters when given, on its side of the hit.
    size_t lo = sc.lo, hi = sc.hi;
    bool hi_known = sc.hi_known;
    if (r.within) {
      uint32_t missing = 0;
      lo = std::max(lo, within_known ? within_lo : BackChars(s, h.nb, r.within));
      const size_t w = within_known ? within_hi
                                    : ForwardChars(s, h.ne, r.within, complete ? nullptr : &missing);
      if (w <= hi) {
        hi = w;
        hi_known = hi_known || missing == 0 || complete;
      }
    }
    for (const Companions& group : r.with) {
      if (d != Decision::kReported) break;
      if (companion_in(group, lo, hi)) continue;
      if (group.side != Side::kBefore && !hi_known) {
        c.pending = true;
      } else {
        missing_companion(group);
      }
    }
    // unless: anywhere in the scope.
    if (d == Decision::kReported && !r.unless.empty()) {
      if (const std::string* t = L.Exemption(r.unless, sc.lo, h.nb)) {
        set(Decision::kAllowContext, [&] { return absl::StrCat("unless term '", *t, "' before it"); });
      } else if (const std::string* t2 = L.Exemption(r.unless, h.ne, sc.hi)) {
        set(Decision::kAllowContext, [&] { return absl::StrCat("unless term '", *t2, "' after it"); });
      } else if (!sc.hi_known) {
        c.pending = true;
      }
    }
  }
  // Speech acts: the same words said in negation, as a warning, in reported or quoted speech,
  // about the rules, or as a question back do not make the claim.
  if (d == Decision::kReported && h.rule != kDenyRule && !f.rule_acts[h.rule].empty()) {
    for (uint32_t ai : f.rule_acts[h.rule]) {
      const SpeechAct& act = f.speech_acts[ai];
      for (const SpeechAct::Cues& g : act.cues) {
        if (d != Decision::kReported) break;
        const ScopeBounds& sc = bounds_of(g.scope);
        const size_t before_lo = g.window ? std::max(sc.lo, BackChars(s, h.nb, g.window)) : sc.lo;
        uint32_t missing = 0;
        const size_t after_hi =
            g.window
                ? std::min(sc.hi, ForwardChars(s, h.ne, g.window, complete ? nullptr : &missing))
                : sc.hi;
        const bool after_complete = complete || sc.hi_known || (g.window && missing == 0);
        const std::string* cue = nullptr;
        const char* where = "";
        if (g.where == CueWhere::kTitle || g.where == CueWhere::kPath ||
            g.where == CueWhere::kQuote) {
          // The hit inside title marks (title) or quotation marks (path, quote) in its sentence.
          const ScopeBounds& sentence = bounds_of(Scope::kSentence);
          Span inside, marks;
          bool opened = false;
          if (!Quoted(original, s, map, h.nb, h.ne, sentence, &inside, &marks, &opened,
                      /*title=*/g.where == CueWhere::kTitle)) {
            // No opening mark before the hit in its sentence: not inside, whatever follows.
            if (opened && !complete && !sentence.hi_known) c.pending = true;
            continue;
          }
          static const std::string kTitleCue = "title marks", kPathCue = "an interface path",
                                   kQuotes = "quotation marks";
          if (g.where == CueWhere::kTitle) {
            cue = &kTitleCue;
            where = "around the name";
          } else if (g.where == CueWhere::kPath) {
            if (InPath(original, marks)) cue = &kPathCue;
            else if (!complete && !sentence.hi_known) c.pending = true;
            where = "around the quoted label";
          } else {
            if (g.terms.empty()) {
              cue = &kQuotes;
            } else {
              cue = L.Cue(g.terms, act.pseudo, sc.lo, inside.begin);
              if (!cue) cue = L.Cue(g.terms, act.pseudo, std::min(inside.end, sc.hi), sc.hi);
            }
            where = "around the quoted words";
            if (!cue && !after_complete) c.pending = true;
          }
        } else {
          if (g.where != CueWhere::kAfter) {
            cue = L.Cue(g.terms, act.pseudo, before_lo, h.nb);
            where = "before it";
          }
          if (!cue && g.where != CueWhere::kBefore) {
            cue = L.Cue(g.terms, act.pseudo, h.ne, after_hi);
            where = "after it";
            if (!cue && !after_complete) c.pending = true;
          }
        }
        if (cue && g.question) {
          // Only in a question: the sentence ends with a question mark, or the clause with
          // 吗/呢/么. Asked only once a cue is there, so that a stream need not wait for the end
          // of every sentence.
          const ScopeBounds& clause = bounds_of(Scope::kClause);
          const ScopeBounds& sentence = bounds_of(Scope::kSentence);
          const uint32_t last = CpBefore(s, clause.hi);
          const bool question = (sentence.hi_known && sentence.question) ||
                                (clause.hi_known && clause.hi > h.ne &&
                                 (last == U'吗' || last == U'呢' || last == U'么'));
          if (!question) {
            if (!complete && !(clause.hi_known && sentence.hi_known)) c.pending = true;
            cue = nullptr;
          }
        }
        if (cue)
          set(Decision::kSpeechAct, [&] {
            return absl::StrCat("speech act ", act.name, ": '", *cue, "' ", where);
          });
      }
      if (d != Decision::kReported) break;
    }
  }
  if (d == Decision::kReported && !r.near.empty()) {
    uint32_t missing = 0;
    size_t lo = BackChars(s, h.nb, r.window);
    size_t hi = ForwardChars(s, h.ne, r.window, complete ? nullptr : &missing);
    if (!L.Any(r.near, lo, hi)) {
      if (complete || missing == 0) {
        set(Decision::kMissingContext, [] { return "required context absent"; });
      } else {
        c.pending = true;  // the window after the hit is not complete yet
      }
    }
  }
  if (d == Decision::kReported && !r.unless_masked.empty()) {
    const std::string_view o =
        original.substr(map.Begin(h.nb), map.End(h.ne - 1) - map.Begin(h.nb));
    for (const std::string& m : r.unless_masked)
      if (o.find(m) != std::string_view::npos) {
        set(Decision::kAllowContext, [&] { return absl::StrCat("already masked ('", m, "' in it)"); });
        break;
      }
  }
  if (d == Decision::kReported && r.validator != Validator::kNone &&
      !Validate(r.validator, s.substr(h.nb, h.ne - h.nb)))
    set(Decision::kValidatorFailed, [] { return "validator rejected the digits"; });
  if (d == Decision::kReported && profile && !profile->allow.empty()) {
    if (const std::string* a = Covering(s, profile->allow, h.nb, h.ne)) {
      set(Decision::kProfileAllowed,
          [&] { return absl::StrCat("inside shop allow-term '", *a, "'"); });
    } else if (!complete && h.nb + MaxSize(profile->allow) > s.size()) {
      c.pending = true;
    }
  }
  if (d == Decision::kReported && c.severity < options.min_severity)
    set(Decision::kBelowThreshold, [] { return "below the severity threshold"; });
  if (d != Decision::kReported) c.pending = false;  // a failed check is final
  return c;
}

absl::Status ResolveRegexStarts(const FilterImpl& f, std::string_view norm, hs_scratch_t* scratch,
                                std::vector<RawHit>* raw, std::vector<SomReport>* som) {
  // A regex whose matches all have one width (min_width == max_width, in normalised bytes, from
  // hs_expression_info) starts at end - width: no engine call. The others are looked up in
  // their own start-of-match database, over a window that ends at the hit and begins one
  // character before the earliest start its max_width allows (so that an assertion such as \b
  // at the start of the match sees the character before it, as in the whole-text scan). One
  // small database per regex costs about 1 K instructions a call; the database of all regexes
  // cost 15–40 K whatever hit. som holds the pending hits (id = pattern, from = index in *raw,
  // to = end), sorted by pattern and end, then each window's reports after them.
  som->clear();
  for (size_t i = 0; i < raw->size(); ++i) {
    RawHit& h = (*raw)[i];
    if (!h.regex) continue;
    const RegexPattern& p = f.regexes[h.pattern];
    if (p.min_width == p.max_width) {
      h.nb = p.max_width <= h.ne ? h.ne - p.max_width : kNoStart;
      continue;
    }
    som->push_back({h.pattern, static_cast<uint32_t>(i), h.ne});
  }
  const size_t pending = som->size();
  if (pending == 0) return absl::OkStatus();
  std::sort(som->begin(), som->end(), [](const SomReport& a, const SomReport& b) {
    return a.id != b.id ? a.id < b.id : a.to < b.to;
  });
  auto window_begin = [&](const SomReport& e) -> uint32_t {
    const uint32_t w = f.regexes[e.id].max_width;
    const size_t earliest = w >= e.to ? 0 : e.to - w;
    return static_cast<uint32_t>(earliest == 0 ? 0 : BackChars(norm, earliest, 1));
  };
  auto on_som = [](unsigned id, unsigned long long from, unsigned long long to, unsigned,
                   void* ctx) -> int {
    static_cast<std::vector<SomReport>*>(ctx)->push_back(
        {id, static_cast<uint32_t>(from), static_cast<uint32_t>(to)});
    return 0;
  };
  for (size_t a = 0; a < pending;) {
    // One window per run of hits of one pattern whose windows overlap.
    const uint32_t id = (*som)[a].id;
    const uint32_t lo = window_begin((*som)[a]);
    uint32_t hi = (*som)[a].to;
    size_t b = a + 1;
    while (b < pending && (*som)[b].id == id && window_begin((*som)[b]) <= hi) hi = (*som)[b++].to;
    const hs_database_t* db = id < f.regex_start_dbs.size() ? f.regex_start_dbs[id].get() : nullptr;
    if (db == nullptr) {  // cannot happen for a filter that loaded; the hits stay unresolved
      for (size_t k = a; k < b; ++k) (*raw)[(*som)[k].from].nb = kNoStart;
      a = b;
      continue;
    }
    const size_t first = som->size();
    hs_error_t rc = hs_scan(db, norm.data() + lo, hi - lo, 0, scratch, on_som, som);
    if (rc != HS_SUCCESS)
      return absl::InternalError(absl::StrCat("engine scan failed: ", HsErrorName(rc)));
    // Reports by end, leftmost start first; each hit takes the report ending where it ends.
    const auto reports = som->begin() + static_cast<std::ptrdiff_t>(first);
    std::sort(reports, som->end(), [](const SomReport& x, const SomReport& y) {
      return x.to != y.to ? x.to < y.to : x.from < y.from;
    });
    for (size_t k = a; k < b; ++k) {
      const SomReport e = (*som)[k];
      RawHit& h = (*raw)[e.from];
      auto it = std::lower_bound(reports, som->end(), e.to - lo,
                                 [](const SomReport& x, uint32_t to) { return x.to < to; });
      h.nb = it != som->end() && it->to == e.to - lo ? it->from + lo : kNoStart;
    }
    som->resize(first);
    a = b;
  }
  return absl::OkStatus();
}

void Resolve(const FilterImpl& f, const ProfileImpl* profile, const ScanOptions& options,
             std::string_view text, std::string_view norm, const OffsetMap& map,
             std::vector<RawHit>* raw_hits, std::vector<Candidate>* cand_buffer,
             std::vector<Finding>* findings, std::vector<Trace>* traces,
             CheckMemo* memo) {
  std::vector<RawHit>& raw = *raw_hits;
  if (memo) memo->Reset(norm, f.term_indexes.size());
  std::vector<Candidate>& cands = *cand_buffer;
  std::sort(raw.begin(), raw.end(), [](const RawHit& a, const RawHit& b) {
    return a.nb != b.nb ? a.nb < b.nb : a.ne != b.ne ? a.ne > b.ne : a.rule < b.rule;
  });
  raw.erase(std::unique(raw.begin(), raw.end(),
                        [](const RawHit& a, const RawHit& b) {
                          return a.nb == b.nb && a.ne == b.ne && a.rule == b.rule;
                        }),
            raw.end());

  cands.clear();
  if (traces) traces->clear();
  const uint32_t deny_category = static_cast<uint32_t>(f.categories.size());
  std::string detail;
  // Without traces, a hit that the overlap step below would drop anyway is not confirmed: hits
  // come in that step's order within a category (begin, longer first, rule), and it keeps a
  // candidate only when it begins at or after the end of the last one kept.
  const bool skip_overlapped = !traces && options.overlap == Overlap::kLongestPerCategory;
  absl::InlinedVector<uint32_t, 16> kept_end(skip_overlapped ? deny_category + 1 : 0, 0);
  for (const RawHit& h : raw) {
    if (h.nb == kNoStart) {
      continue;  // no start of match found: cannot be reported (never seen; defensive)
    }
    const bool deny = h.rule == kDenyRule;
    const Rule& r = deny ? profile->deny_rule : f.rules[h.rule];
    const uint32_t category = deny ? deny_category : f.rule_category[h.rule];
    if (skip_overlapped && h.nb < kept_end[category]) continue;
    detail.clear();
    Confirmation c = Confirm(f, profile, options, text, norm, map, h, /*complete=*/true,
                             traces ? &detail : nullptr, memo);
    const uint32_t ob = map.Begin(h.nb), oe = map.End(h.ne - 1);
    const uint32_t trace = traces ? static_cast<uint32_t>(traces->size()) : 0;
    if (traces) {
      Trace t;
      t.rule = &r;
      t.normalized = {h.nb, h.ne};
      t.bytes = {ob, oe};
      t.decision = c.decision;
      t.detail = detail;
      traces->push_back(std::move(t));
    }
    if (c.decision == Decision::kReported) {
      if (skip_overlapped) kept_end[category] = h.ne;
      cands.push_back({&r, category, c.severity, h.nb, h.ne,
                       deny ? kDenyRule : h.rule, ob, oe, trace});
    }
  }
  auto lose = [&](const Candidate& c, const char* why) {
    if (!traces) return;
    Trace& t = (*traces)[c.trace];
    t.decision = Decision::kOverlapped;
    t.detail = why;
  };

  if (options.overlap == Overlap::kLongestPerCategory && cands.size() > 1) {
    std::stable_sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
      if (a.category != b.category) return a.category < b.category;
      if (a.nb != b.nb) return a.nb < b.nb;
      if (a.ne != b.ne) return a.ne > b.ne;
      return a.order < b.order;
    });
    size_t out = 0;
    uint32_t cat = UINT32_MAX, end = 0;
    for (size_t i = 0; i < cands.size(); ++i) {
      const Candidate& c = cands[i];
      if (c.category != cat) {
        cat = c.category;
        end = 0;
      }
      if (c.nb >= end) {
        end = c.ne;
        cands[out++] = c;
      } else {
        lose(c, "overlaps an earlier or longer finding of the same category");
      }
    }
    cands.resize(out);
  }
  // The documented order is by original span: (byte begin, longer first, rule index). Normalised
  // order can differ from it only where hits start or end inside one expanding character; the
  // normalised span breaks the remaining ties, so that the result never depends on the sort.
  std::sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
    if (a.ob != b.ob) return a.ob < b.ob;
    if (a.oe != b.oe) return a.oe > b.oe;
    if (a.order != b.order) return a.order < b.order;
    if (a.nb != b.nb) return a.nb < b.nb;
    return a.ne > b.ne;
  });
  if (cands.size() > 1) {
    size_t out = 1;
    for (size_t i = 1; i < cands.size(); ++i) {
      const Candidate& p = cands[out - 1];
      const Candidate& c = cands[i];
      if (c.ob == p.ob && c.oe == p.oe && c.order == p.order) {
        lose(c, "same span in the message as another finding of this rule");
      } else {
        cands[out++] = c;
      }
    }
    cands.resize(out);
  }

  // Original spans; character offsets by one forward walk.
  size_t cursor = 0, chars = 0;
  findings->reserve(findings->size() + cands.size());
  for (const Candidate& c : cands) {
    Finding fd;
    fd.rule = c.rule;
    fd.severity = c.severity;
    fd.bytes = {c.ob, c.oe};
    auto count = [&](std::string_view t) {
      return map.valid_utf8 ? CountValidChars(t) : CountChars(t);
    };
    chars += count(text.substr(cursor, fd.bytes.begin - cursor));
    cursor = fd.bytes.begin;
    fd.chars = {chars, chars + count(text.substr(fd.bytes.begin, fd.bytes.size()))};
    fd.text = text.substr(fd.bytes.begin, fd.bytes.size());
    findings->push_back(fd);
  }
}

}  // namespace scriptqa::internal
