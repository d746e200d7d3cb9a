#include "regex_class.h"

#include <cstddef>

namespace scriptqa::internal {
namespace {

// Mask of one character (0: outside the gated classes, so the item gives no guarantee).
uint32_t CharMask(unsigned char c) { return c < 0x80 ? AsciiClass(c) : 0; }

// Parses a class body starting after '['; returns the mask all its members fall into (0 if any
// member is outside the gated classes or the class is negated); *i ends after the ']'.
uint32_t ClassMask(std::string_view re, size_t* i) {
  size_t p = *i;
  bool negated = p < re.size() && re[p] == '^';
  if (negated) ++p;
  uint32_t mask = 0;
  bool unknown = negated;
  bool first = true;
  while (p < re.size() && (re[p] != ']' || first)) {
    first = false;
    unsigned char c = static_cast<unsigned char>(re[p]);
    uint32_t m;
    if (c == '\\' && p + 1 < re.size()) {
      char e = re[p + 1];
      p += 2;
      if (e == 'd') {
        m = kClassDigit;
      } else if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) {
        m = 0;  // \w, \s, \x.., \p{..}: not enumerated
        unknown = true;
        continue;
      } else {
        m = CharMask(static_cast<unsigned char>(e));
        c = static_cast<unsigned char>(e);
      }
    } else {
      ++p;
      m = CharMask(c);
    }
    // A range c-d.
    if (p + 1 < re.size() && re[p] == '-' && re[p + 1] != ']') {
      unsigned char d = static_cast<unsigned char>(re[p + 1]);
      p += 2;
      bool digits = c >= '0' && d <= '9' && c <= d;
      bool lower = c >= 'a' && d <= 'z' && c <= d;
      bool upper = c >= 'A' && d <= 'Z' && c <= d;
      m = digits ? kClassDigit : (lower || upper) ? kClassLetter : 0;
    }
    if (m == 0) unknown = true;
    mask |= m;
  }
  *i = p < re.size() ? p + 1 : p;
  return unknown ? 0 : mask;
}

// Skips a group starting at '('; *i ends after the matching ')'.
void SkipGroup(std::string_view re, size_t* i) {
  int depth = 0;
  size_t p = *i;
  while (p < re.size()) {
    char c = re[p];
    if (c == '\\') {
      p += 2;
      continue;
    }
    if (c == '[') {
      ++p;
      ClassMask(re, &p);
      continue;
    }
    if (c == '(') ++depth;
    if (c == ')' && --depth == 0) {
      *i = p + 1;
      return;
    }
    ++p;
  }
  *i = re.size();
}

// Whether the item just parsed is optional, given the quantifier at *i (consumed).
bool Optional(std::string_view re, size_t* i) {
  size_t p = *i;
  bool optional = false;
  if (p < re.size() && (re[p] == '?' || re[p] == '*')) {
    optional = true;
    ++p;
  } else if (p < re.size() && re[p] == '+') {
    ++p;
  } else if (p < re.size() && re[p] == '{') {
    size_t close = re.find('}', p);
    if (close == std::string_view::npos) return true;  // malformed: be conservative
    optional = p + 1 < re.size() && re[p + 1] == '0';
    p = close + 1;
  }
  if (p < re.size() && (re[p] == '?' || re[p] == '+')) ++p;  // lazy / possessive
  *i = p;
  return optional;
}

int Rank(uint32_t m) {  // rarer classes gate better
  if (m == kClassAt) return 3;
  if (m == kClassDigit) return 2;
  if (m == kClassLetter) return 1;
  return 0;
}

}  // namespace

uint32_t RequiredClasses(std::string_view re) {
  // A top-level alternation gives no single mandatory item.
  {
    int depth = 0;
    for (size_t p = 0; p < re.size(); ++p) {
      char c = re[p];
      if (c == '\\') {
        ++p;
      } else if (c == '[') {
        ++p;
        ClassMask(re, &p);
        --p;
      } else if (c == '(') {
        ++depth;
      } else if (c == ')') {
        --depth;
      } else if (c == '|' && depth == 0) {
        return 0;
      }
    }
  }
  uint32_t best = 0;
  size_t i = 0;
  while (i < re.size()) {
    char c = re[i];
    uint32_t m = 0;
    if (c == '(') {
      SkipGroup(re, &i);
    } else if (c == '[') {
      ++i;
      m = ClassMask(re, &i);
    } else if (c == '\\' && i + 1 < re.size()) {
      char e = re[i + 1];
      i += 2;
      if (e == 'd') {
        m = kClassDigit;
      } else if (!((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9'))) {
        m = CharMask(static_cast<unsigned char>(e));
      } else if (e == 'x' || e == 'p' || e == 'P' || e == 'Q') {
        return 0;  // \x{..}, \p{..}, \Q..\E: not followed; give up rather than misparse
      }
    } else {
      // One character (a multi-byte UTF-8 character is one item: skip its continuation bytes).
      unsigned char u = static_cast<unsigned char>(c);
      ++i;
      if (u >= 0x80)
        while (i < re.size() && (static_cast<unsigned char>(re[i]) & 0xC0) == 0x80) ++i;
      if (c == '.' || c == '^' || c == '$') {
        m = 0;
      } else {
        m = CharMask(u);
      }
    }
    if (Optional(re, &i)) continue;
    if (m != 0 && Rank(m) > Rank(best)) best = m;
    if (best == 0 && m != 0) best = m;  // e.g. digits-or-letters
  }
  return best;
}

bool UsesAnchors(std::string_view re) {
  bool in_class = false;
  for (size_t i = 0; i < re.size(); ++i) {
    const char c = re[i];
    if (c == '\\') {
      if (i + 1 >= re.size()) return true;
      const char n = re[++i];
      if (!in_class && (n == 'A' || n == 'z' || n == 'Z' || n == 'G')) return true;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      continue;
    }
    if (c == '[') {
      in_class = true;
      // A ']' right after '[' or '[^' is a literal member.
      if (i + 1 < re.size() && re[i + 1] == '^') ++i;
      if (i + 1 < re.size() && re[i + 1] == ']') ++i;
      continue;
    }
    if (c == '^' || c == '$') return true;
  }
  return in_class;  // unterminated class: in doubt
}

}  // namespace scriptqa::internal
