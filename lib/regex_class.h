// Which characters a regex's matches must contain, for gating the regex databases: a message
// without any such character cannot match, so its database is not scanned at all.
#ifndef SCRIPTQA_LIB_REGEX_CLASS_H_
#define SCRIPTQA_LIB_REGEX_CLASS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace scriptqa::internal {

// Character-class bits of normalised text, collected by the normaliser.
inline constexpr uint32_t kClassDigit = 1;   // 0-9
inline constexpr uint32_t kClassLetter = 2;  // a-z (A-Z)
inline constexpr uint32_t kClassAt = 4;      // @

// Class bit of an ASCII character (0 for others).
constexpr uint32_t AsciiClass(uint32_t c) {
  if (c >= '0' && c <= '9') return kClassDigit;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return kClassLetter;
  return c == '@' ? kClassAt : 0;
}

// A mask M such that every match of `re` contains a character whose class is in M; 0 when no such
// guarantee could be derived (the regex is always scanned). Conservative: it looks only at the
// mandatory items of the top-level sequence (no top-level alternation; an item followed by ?, *
// or {0,…} is optional), and at single characters, escapes and character classes.
uint32_t RequiredClasses(std::string_view re);

// Required factors: a set of strings such that every match of `re` contains at least one of them
// (as bytes, at any position). Found from literal characters, small character classes (up to 64
// members), groups of such alternatives and `?`: a run of such items gives the strings of their
// product (up to 1024), and the run whose shortest string is longest (then the smallest set) is
// chosen, for each top-level alternative. Returns false when some alternative has none (e.g. it
// is only classes like [a-z]{2,40}) or the regex uses something not followed (inline flags such
// as (?i), which would change what a literal means); conservative: a construct it does not
// understand breaks a run instead of joining it.
bool RequiredFactors(std::string_view re, std::vector<std::string>* factors);

// Whether `re` may use an anchor (^ $ \A \z \Z \G outside a character class): its matches then
// depend on where the scanned data begins or ends. Conservative: true when in doubt.
bool UsesAnchors(std::string_view re);

}  // namespace scriptqa::internal

#endif  // SCRIPTQA_LIB_REGEX_CLASS_H_
