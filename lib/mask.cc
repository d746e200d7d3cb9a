#include "scriptqa/mask.h"

#include <algorithm>

#include "utf8.h"

namespace scriptqa {
namespace {

using internal::DecodeUtf8;
using internal::kInvalidCp;

// A digit in any of the styles the privacy validators read (docs/dictionary-format.md).
bool IsDigitLike(uint32_t c) {
  if (c >= '0' && c <= '9') return true;
  if (c >= 0xFF10 && c <= 0xFF19) return true;  // full width
  if ((c >= 0x2460 && c <= 0x2468) || c == 0x24EA) return true;  // ①…⑨ ⓪
  if ((c >= 0x2474 && c <= 0x247C) || (c >= 0x2488 && c <= 0x2490)) return true;  // ⑴… ⒈…
  if ((c >= 0x2776 && c <= 0x277E) || (c >= 0x2780 && c <= 0x2788) ||
      (c >= 0x278A && c <= 0x2792))
    return true;  // ❶… ➀… ➊…
  switch (c) {
    case U'〇': case U'零': case U'一': case U'二': case U'三': case U'四': case U'五':
    case U'六': case U'七': case U'八': case U'九': case U'幺': case U'两': case U'壹':
    case U'贰': case U'叁': case U'肆': case U'伍': case U'陆': case U'柒': case U'捌':
    case U'玖':
      return true;
    default:
      return false;
  }
}

bool IsLetter(uint32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= 0xFF21 && c <= 0xFF3A) ||
         (c >= 0xFF41 && c <= 0xFF5A);
}

// What masking replaces inside a range.
bool IsIdentifying(uint32_t c) {
  return IsDigitLike(c) || IsLetter(c) || (c >= 0x2469 && c <= 0x249B);  // ⑩…⒛ too
}

bool IsSeparator(uint32_t c) {
  switch (c) {
    case ' ': case '-': case '.': case '/': case 0x00B7: case 0x00A0: case 0x3000:
    case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014: case 0xFF0D: case 0x30FB:
      return true;
    default:
      return false;
  }
}

bool IsX(uint32_t c) { return c == 'x' || c == 'X' || c == 0xFF38 || c == 0xFF58; }

bool IsEmailLocal(uint32_t c) {
  return (c < 0x80 && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '%' || c == '+' ||
                       c == '-'));
}
bool IsDomainChar(uint32_t c) {
  return c < 0x80 && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '.' || c == '-');
}

struct Char {
  uint32_t cp;
  uint32_t begin;  // byte offset
  uint32_t end;
};

std::vector<Char> Decode(std::string_view text) {
  std::vector<Char> out;
  out.reserve(text.size());
  const auto* base = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char* end = base + text.size();
  for (const unsigned char* p = base; p < end;) {
    int len;
    uint32_t cp = DecodeUtf8(p, end, &len);
    out.push_back({cp, static_cast<uint32_t>(p - base), static_cast<uint32_t>(p - base + len)});
    p += len;
  }
  return out;
}

// Digit runs of 7 or more (see mask.h).
void DigitRuns(const std::vector<Char>& cs, std::vector<Span>* out) {
  const size_t n = cs.size();
  size_t i = 0;
  while (i < n) {
    if (!IsDigitLike(cs[i].cp)) {
      ++i;
      continue;
    }
    // A run of groups starting at i.
    size_t run_begin = i, digits = 0, last_end = i;
    size_t prev_len = 0;
    size_t j = i;
    while (true) {
      size_t g = j;
      while (g < n && IsDigitLike(cs[g].cp)) ++g;
      const size_t len = g - j;
      if (prev_len != 0) {
        const bool joins = (prev_len >= 3 && len >= 3) || (prev_len == 1 && len == 1);
        if (!joins) break;
      }
      digits += len;
      last_end = g;
      prev_len = len;
      // Another group after exactly one separator?
      if (g + 1 < n && IsSeparator(cs[g].cp) && IsDigitLike(cs[g + 1].cp)) {
        j = g + 1;
        continue;
      }
      break;
    }
    size_t end = last_end;
    if (end < n && IsX(cs[end].cp) && digits >= 14) ++end;
    if (digits >= 7) out->push_back({cs[run_begin].begin, cs[end - 1].end});
    // Continue after the last group taken (a group that did not join starts a new run).
    i = last_end;
  }
}

void EmailLocals(const std::vector<Char>& cs, std::vector<Span>* out) {
  const size_t n = cs.size();
  for (size_t i = 0; i < n; ++i) {
    if (cs[i].cp != '@' && cs[i].cp != 0xFF20) continue;
    size_t b = i;
    while (b > 0 && IsEmailLocal(cs[b - 1].cp)) --b;
    if (b == i) continue;
    size_t e = i + 1, dot = 0, tld = 0;
    while (e < n && IsDomainChar(cs[e].cp)) {
      if (cs[e].cp == '.') {
        dot = e;
        tld = 0;
      } else if (dot != 0 && IsLetter(cs[e].cp)) {
        ++tld;
      }
      ++e;
    }
    if (dot == 0 || tld < 2) continue;
    out->push_back({cs[b].begin, cs[i - 1].end});
  }
}

void MaskRange(std::string* text, const std::vector<Char>& cs, size_t first, size_t last) {
  size_t count = 0;
  for (size_t k = first; k < last; ++k) count += IsIdentifying(cs[k].cp);
  const size_t keep_head = count >= 11 ? 3 : count >= 4 ? 1 : 0;
  const size_t keep_tail = count >= 11 ? 4 : count >= 4 ? 1 : 0;
  auto* p = reinterpret_cast<unsigned char*>(text->data());
  size_t i = 0;
  for (size_t k = first; k < last; ++k) {
    if (!IsIdentifying(cs[k].cp)) continue;
    if (i >= keep_head && i + keep_tail < count) {
      unsigned char* c = p + cs[k].begin;
      switch (cs[k].end - cs[k].begin) {
        case 1: c[0] = '*'; break;
        case 3: c[0] = 0xEF, c[1] = 0xBC, c[2] = 0x8A; break;  // U+FF0A, three bytes too
        default: break;  // identifying characters are one or three bytes
      }
    }
    ++i;
  }
}

}  // namespace

std::vector<Span> PersonalDataSpans(std::string_view text) {
  std::vector<Char> cs = Decode(text);
  std::vector<Span> out;
  DigitRuns(cs, &out);
  EmailLocals(cs, &out);
  std::sort(out.begin(), out.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  // Merge overlaps (an e-mail local part made of digits is also a digit run).
  std::vector<Span> merged;
  for (const Span& s : out) {
    if (!merged.empty() && s.begin < merged.back().end) {
      merged.back().end = std::max(merged.back().end, s.end);
    } else {
      merged.push_back(s);
    }
  }
  return merged;
}

void MaskPersonalDataInPlace(std::string* text, absl::Span<const Span> spans) {
  std::vector<Char> cs = Decode(*text);
  std::vector<Span> all;
  DigitRuns(cs, &all);
  EmailLocals(cs, &all);
  for (const Span& s : spans)
    if (s.begin < s.end && s.end <= text->size()) all.push_back(s);
  if (all.empty()) return;
  std::sort(all.begin(), all.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  // Each union of overlapping ranges is masked once, so that a finding and the digit run inside
  // it keep 3 + 4 characters, not 1 + 1 of what a first mask left.
  size_t k = 0;  // index into cs
  for (size_t r = 0; r < all.size();) {
    size_t begin = all[r].begin, end = all[r].end;
    for (++r; r < all.size() && all[r].begin < end; ++r) end = std::max(end, all[r].end);
    while (k < cs.size() && cs[k].end <= begin) ++k;
    size_t last = k;
    while (last < cs.size() && cs[last].begin < end) ++last;
    MaskRange(text, cs, k, last);
    k = last;
  }
}

std::string MaskPersonalData(std::string_view text, absl::Span<const Finding> findings) {
  std::string out(text);
  std::vector<Span> spans;
  for (const Finding& f : findings)
    if (f.rule != nullptr && f.rule->category == kPersonalDataCategory) spans.push_back(f.bytes);
  MaskPersonalDataInPlace(&out, spans);
  return out;
}

}  // namespace scriptqa
