#include "regex_class.h"

#include <algorithm>
#include <cstddef>

#include "utf8.h"

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

// ---- Required factors ------------------------------------------------------------------------

namespace {

constexpr size_t kMaxFactorSet = 1024;
constexpr size_t kMaxClassMembers = 64;
constexpr int kMaxDepth = 32;

// One item of a sequence: kFinite matches exactly the strings of `set` ("" when it may match
// nothing); kAlone is mandatory and every match of it contains a string of `set`, but it cannot be
// joined with its neighbours (a repetition); kOpaque gives nothing.
struct Piece {
  enum Kind { kFinite, kAlone, kOpaque } kind = kOpaque;
  std::vector<std::string> set;
};
using Branch = std::vector<Piece>;

void Dedupe(std::vector<std::string>* v) {
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

bool Product(const std::vector<std::string>& a, const std::vector<std::string>& b,
             std::vector<std::string>* out) {
  if (a.size() * b.size() > kMaxFactorSet) return false;
  out->clear();
  for (const std::string& x : a)
    for (const std::string& y : b) out->push_back(x + y);
  Dedupe(out);
  return true;
}

bool HasEmpty(const std::vector<std::string>& v) {
  return std::any_of(v.begin(), v.end(), [](const std::string& s) { return s.empty(); });
}

// (shortest string in characters, -size): larger is a better factor set.
std::pair<size_t, long> Score(const std::vector<std::string>& v) {
  size_t shortest = SIZE_MAX;
  for (const std::string& s : v) shortest = std::min(shortest, CountChars(s));
  return {shortest, -static_cast<long>(v.size())};
}

// Every string the branch matches, when all its items are finite and the product is small.
bool Whole(const Branch& b, std::vector<std::string>* out) {
  std::vector<std::string> acc = {""}, next;
  for (const Piece& p : b) {
    if (p.kind != Piece::kFinite || !Product(acc, p.set, &next)) return false;
    acc.swap(next);
  }
  *out = std::move(acc);
  return true;
}

// The last character of each string (deduplicated; "" stays ""): a match holding x followed by
// y also holds x's last character followed by y, so a product too large to keep whole can go on
// from these.
std::vector<std::string> LastChars(const std::vector<std::string>& v) {
  std::vector<std::string> out;
  out.reserve(v.size());
  for (const std::string& x : v) {
    size_t i = x.size();
    while (i > 0 && (static_cast<unsigned char>(x[i - 1]) & 0xC0) == 0x80) --i;
    if (i > 0) --i;
    out.push_back(x.substr(i));
  }
  Dedupe(&out);
  return out;
}

// The best required-factor set of one branch.
bool Best(const Branch& b, std::vector<std::string>* out) {
  bool found = false;
  std::pair<size_t, long> best{0, 0};
  auto consider = [&](const std::vector<std::string>& v) {
    if (v.empty() || HasEmpty(v)) return;
    auto sc = Score(v);
    if (!found || sc > best) {
      found = true;
      best = sc;
      *out = v;
    }
  };
  std::vector<std::string> acc, next;
  for (size_t i = 0; i < b.size(); ++i) {
    if (b[i].kind == Piece::kAlone) consider(b[i].set);
    if (b[i].kind != Piece::kFinite) continue;
    acc = {""};
    for (size_t e = i; e < b.size() && b[e].kind == Piece::kFinite; ++e) {
      // Too many strings: go on from their last characters ({数}{时长}{见效}, whose 见效 has
      // one-character members, gives 天白 and 就见效 instead of the common 七天).
      if (!Product(acc, b[e].set, &next) && !Product(LastChars(acc), b[e].set, &next)) break;
      acc.swap(next);
      consider(acc);
    }
  }
  return found;
}

class FactorParser {
 public:
  explicit FactorParser(std::string_view re) : re_(re) {}
  bool failed() const { return failed_; }
  bool at_end() const { return p_ >= re_.size(); }

  // Alternatives up to a ')' (not consumed) or the end.
  std::vector<Branch> Alternation(int depth) {
    std::vector<Branch> branches(1);
    while (!failed_ && p_ < re_.size() && re_[p_] != ')') {
      if (re_[p_] == '|') {
        ++p_;
        branches.emplace_back();
        continue;
      }
      Piece piece;
      Atom(&piece, depth);
      Quantifier(&piece);
      branches.back().push_back(std::move(piece));
    }
    return branches;
  }

 private:
  void Literal(uint32_t cp, Piece* out) {
    std::string s;
    AppendUtf8(cp, &s);
    out->kind = Piece::kFinite;
    out->set = {s};
  }

  // A code point written at p_ (a UTF-8 character or an escape inside a class); false when it is
  // not a single character.
  bool ClassChar(uint32_t* cp, bool* digits) {
    *digits = false;
    if (re_[p_] == '\\') {
      if (p_ + 1 >= re_.size()) return false;
      const char e = re_[p_ + 1];
      if (e == 'x') return HexEscape(cp);
      p_ += 2;
      if (e == 'd') {
        *digits = true;
        return true;
      }
      if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) return false;
      if (static_cast<unsigned char>(e) >= 0x80) return false;
      *cp = static_cast<unsigned char>(e);
      return true;
    }
    int len = 1;
    const auto* b = reinterpret_cast<const unsigned char*>(re_.data());
    *cp = DecodeUtf8(b + p_, b + re_.size(), &len);
    p_ += static_cast<size_t>(len);
    return *cp != kInvalidCp;
  }

  // \xHH or \x{H...} at p_.
  bool HexEscape(uint32_t* cp) {
    size_t q = p_ + 2;
    uint32_t v = 0;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (q < re_.size() && re_[q] == '{') {
      ++q;
      size_t n = 0;
      while (q < re_.size() && re_[q] != '}') {
        const int h = hex(re_[q]);
        if (h < 0 || ++n > 6) return false;
        v = v * 16 + static_cast<uint32_t>(h);
        ++q;
      }
      if (q >= re_.size() || n == 0) return false;
      ++q;
    } else {
      for (int k = 0; k < 2; ++k, ++q) {
        if (q >= re_.size() || hex(re_[q]) < 0) return false;
        v = v * 16 + static_cast<uint32_t>(hex(re_[q]));
      }
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return false;
    p_ = q;
    *cp = v;
    return true;
  }

  // A character class; p_ is after '['.
  void Class(Piece* out) {
    bool known = true;
    if (p_ < re_.size() && re_[p_] == '^') known = false;
    std::vector<uint32_t> members;
    bool first = true;
    while (p_ < re_.size() && (re_[p_] != ']' || first)) {
      first = false;
      if (re_[p_] == '[') {  // POSIX class ([:alpha:]) or a literal '[': not followed
        failed_ = true;
        return;
      }
      uint32_t lo = 0;
      bool digits = false;
      if (!ClassChar(&lo, &digits)) {
        known = false;
        if (p_ < re_.size() && re_[p_] != ']') ++p_;
        continue;
      }
      if (digits) {
        for (uint32_t d = '0'; d <= '9'; ++d) members.push_back(d);
        continue;
      }
      uint32_t hi = lo;
      if (p_ + 1 < re_.size() && re_[p_] == '-' && re_[p_ + 1] != ']') {
        ++p_;
        if (!ClassChar(&hi, &digits) || digits || hi < lo) {
          known = false;
          continue;
        }
      }
      if (hi - lo >= kMaxClassMembers) {
        known = false;
        continue;
      }
      for (uint32_t c = lo; c <= hi; ++c) members.push_back(c);
    }
    if (p_ >= re_.size()) {
      failed_ = true;  // unterminated
      return;
    }
    ++p_;  // ']'
    if (!known || members.empty() || members.size() > kMaxClassMembers) return;
    out->kind = Piece::kFinite;
    for (uint32_t c : members) {
      std::string s;
      AppendUtf8(c, &s);
      out->set.push_back(std::move(s));
    }
    Dedupe(&out->set);
  }

  void Atom(Piece* out, int depth) {
    const char c = re_[p_];
    if (c == '(') {
      ++p_;
      if (p_ < re_.size() && re_[p_] == '?') {
        if (p_ + 1 < re_.size() && re_[p_ + 1] == ':') {
          p_ += 2;
        } else {
          failed_ = true;  // flags, lookaround, named groups: not followed
          return;
        }
      }
      if (depth >= kMaxDepth) {
        failed_ = true;
        return;
      }
      std::vector<Branch> branches = Alternation(depth + 1);
      if (failed_ || p_ >= re_.size() || re_[p_] != ')') {
        failed_ = true;
        return;
      }
      ++p_;
      std::vector<std::string> all, one;
      bool whole = true;
      for (const Branch& b : branches) {
        if (!Whole(b, &one)) {
          whole = false;
          break;
        }
        all.insert(all.end(), one.begin(), one.end());
      }
      Dedupe(&all);
      if (whole && all.size() <= kMaxFactorSet) {
        out->kind = Piece::kFinite;
        out->set = std::move(all);
        return;
      }
      all.clear();
      for (const Branch& b : branches) {
        if (!Best(b, &one)) return;  // opaque
        all.insert(all.end(), one.begin(), one.end());
      }
      Dedupe(&all);
      if (all.size() > kMaxFactorSet) return;
      out->kind = Piece::kAlone;
      out->set = std::move(all);
      return;
    }
    if (c == '[') {
      ++p_;
      Class(out);
      return;
    }
    if (c == '\\') {
      if (p_ + 1 >= re_.size()) {
        failed_ = true;
        return;
      }
      const char e = re_[p_ + 1];
      if (e == 'Q' || e == 'E') {
        failed_ = true;  // quoting: not followed
        return;
      }
      uint32_t cp = 0;
      if (e == 'x') {
        if (!HexEscape(&cp)) {
          failed_ = true;
          return;
        }
        Literal(cp, out);
        return;
      }
      if (e == 'd') {
        p_ += 2;
        out->kind = Piece::kFinite;
        for (char d = '0'; d <= '9'; ++d) out->set.push_back(std::string(1, d));
        return;
      }
      if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) {
        p_ += 2;  // \w, \s, \b, \p{..} (its braces are skipped as literals below: opaque anyway)
        if ((e == 'p' || e == 'P') && p_ < re_.size() && re_[p_] == '{') {
          const size_t close = re_.find('}', p_);
          p_ = close == std::string_view::npos ? re_.size() : close + 1;
        }
        return;
      }
      ++p_;  // an escaped punctuation character stands for itself
      int len = 1;
      const auto* b = reinterpret_cast<const unsigned char*>(re_.data());
      cp = DecodeUtf8(b + p_, b + re_.size(), &len);
      p_ += static_cast<size_t>(len);
      if (cp == kInvalidCp) {
        failed_ = true;
        return;
      }
      Literal(cp, out);
      return;
    }
    if (c == '.' || c == '^' || c == '$') {
      ++p_;
      return;
    }
    if (c == '*' || c == '+' || c == '?' || c == '{') {
      failed_ = true;  // a quantifier with nothing before it
      return;
    }
    uint32_t cp = 0;
    bool digits = false;
    if (!ClassChar(&cp, &digits)) {
      failed_ = true;
      return;
    }
    Literal(cp, out);
  }

  void Quantifier(Piece* piece) {
    if (failed_ || p_ >= re_.size()) return;
    const char q = re_[p_];
    size_t min = 1, max = 1;
    if (q == '?') {
      min = 0;
      ++p_;
    } else if (q == '*') {
      min = 0;
      max = SIZE_MAX;
      ++p_;
    } else if (q == '+') {
      max = SIZE_MAX;
      ++p_;
    } else if (q == '{') {
      size_t k = p_ + 1, m = 0, n = 0;
      bool comma = false, digits = false;
      while (k < re_.size() && re_[k] >= '0' && re_[k] <= '9') {
        m = std::min<size_t>(m * 10 + static_cast<size_t>(re_[k] - '0'), 1u << 20);
        ++k;
        digits = true;
      }
      if (!digits) {
        failed_ = true;  // '{' as a literal: not followed
        return;
      }
      n = m;
      if (k < re_.size() && re_[k] == ',') {
        comma = true;
        ++k;
        n = SIZE_MAX;
        if (k < re_.size() && re_[k] >= '0' && re_[k] <= '9') {
          n = 0;
          while (k < re_.size() && re_[k] >= '0' && re_[k] <= '9') {
            n = std::min<size_t>(n * 10 + static_cast<size_t>(re_[k] - '0'), 1u << 20);
            ++k;
          }
        }
      }
      if (k >= re_.size() || re_[k] != '}') {
        failed_ = true;
        return;
      }
      (void)comma;
      p_ = k + 1;
      min = m;
      max = n;
    } else {
      return;
    }
    if (p_ < re_.size() && (re_[p_] == '?' || re_[p_] == '+')) ++p_;  // lazy / possessive
    if (min == 1 && max == 1) return;
    if (min == 0) {
      if (max == 1 && piece->kind == Piece::kFinite) {
        piece->set.push_back("");
        Dedupe(&piece->set);
      } else {
        *piece = Piece();
      }
      return;
    }
    // Mandatory but repeated: still a factor, no longer joinable.
    if (piece->kind == Piece::kFinite && HasEmpty(piece->set)) {
      *piece = Piece();
    } else if (piece->kind == Piece::kFinite) {
      piece->kind = Piece::kAlone;
    }
  }

  std::string_view re_;
  size_t p_ = 0;
  bool failed_ = false;
};

}  // namespace

bool RequiredFactors(std::string_view re, std::vector<std::string>* factors) {
  factors->clear();
  FactorParser parser(re);
  std::vector<Branch> branches = parser.Alternation(0);
  if (parser.failed() || !parser.at_end()) return false;  // e.g. an unbalanced ')'
  std::vector<std::string> all, one;
  for (const Branch& b : branches) {
    if (!Best(b, &one)) return false;
    all.insert(all.end(), one.begin(), one.end());
  }
  Dedupe(&all);
  if (all.empty() || all.size() > kMaxFactorSet || HasEmpty(all)) return false;
  *factors = std::move(all);
  return true;
}

}  // namespace scriptqa::internal
