// Build-time generator of scriptqa's normalisation data, from ICU.
//
// ICU is slow per message (its Hant-Hans transliterator costs microseconds per short message), so
// scriptqa asks ICU once, at build time, what each code point becomes, and compiles the answers
// into sparse tables that the library turns into a dense two-stage lookup table when a Filter is
// created. The library itself does not link ICU.
//
// Output (a C++ include file, written to argv[1]):
//   kNfkc*   code point -> NFKC of that single code point (only where it differs)
//   kFold*   code point -> full case folding, then a Latin letter with marks to its ASCII letter
//            (only where it differs)
//   kT2s*    code point -> Simplified form (Han only; four standard Simplified characters kept;
//            chains resolved, so that the Simplified form maps to nothing)
//   kNoise   ranges of white space, punctuation, symbols, controls, emoji, private-use
//            characters and noncharacters
//   kDrop    ranges of default-ignorable, format and enclosing-mark characters (removed always)
//   kClause  code points that end a clause (for negation windows)
//   kMark    ranges of nonspacing marks (Mn) not in kDrop: noise after a character of kMarkFree,
//            after noise and at the start of a text, kept after anything else (lib/normalizer.cc)
//   kMarkFree  ranges of characters of scripts written without combining marks in practice (Han,
//            Hiragana, Katakana, Hangul, Bopomofo, by script extensions), marks excluded
//   kNormDataHash  a stable hash of everything above, part of every compiled database's key.
#include <unicode/normalizer2.h>
#include <unicode/translit.h>
#include <unicode/ucnv.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uscript.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace {

uint64_t g_hash = 1469598103934665603ull;
void HashU32(uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    g_hash ^= (v >> (8 * i)) & 0xff;
    g_hash *= 1099511628211ull;
  }
}

std::vector<uint32_t> ToCps(const icu::UnicodeString& s) {
  std::vector<uint32_t> out;
  for (int32_t i = 0; i < s.length();) {
    UChar32 c = s.char32At(i);
    out.push_back(static_cast<uint32_t>(c));
    i += U16_LENGTH(c);
  }
  return out;
}

struct MapTable {
  std::string name;
  std::vector<uint32_t> index;  // cp, offset into pool, length — triples
  std::vector<uint32_t> pool;
  void Add(uint32_t cp, const std::vector<uint32_t>& to) {
    index.push_back(cp);
    index.push_back(static_cast<uint32_t>(pool.size()));
    index.push_back(static_cast<uint32_t>(to.size()));
    HashU32(cp);
    for (uint32_t c : to) {
      pool.push_back(c);
      HashU32(c);
    }
    HashU32(0xffffffffu);
  }
};

void Emit(FILE* f, const char* name, const std::vector<uint32_t>& v) {
  std::fprintf(f, "inline constexpr uint32_t %s[] = {", name);
  for (size_t i = 0; i < v.size(); ++i) {
    if (i % 12 == 0) std::fprintf(f, "\n ");
    std::fprintf(f, " 0x%x,", v[i]);
  }
  if (v.empty()) std::fprintf(f, " 0");
  std::fprintf(f, "\n};\ninline constexpr size_t %sSize = %zu;\n", name, v.size());
}

std::vector<uint32_t> Ranges(bool (*pred)(UChar32)) {
  std::vector<uint32_t> r;
  UChar32 start = -1;
  for (UChar32 c = 0; c <= 0x110000; ++c) {
    bool in = c < 0x110000 && pred(c);
    if (in && start < 0) start = c;
    if (!in && start >= 0) {
      r.push_back(static_cast<uint32_t>(start));
      r.push_back(static_cast<uint32_t>(c - 1));
      HashU32(start);
      HashU32(c - 1);
      start = -1;
    }
  }
  HashU32(0xfffffffeu);
  return r;
}

bool IsDrop(UChar32 c) {
  if (c == 0x09 || c == 0x0a || c == 0x0d) return false;  // white space, handled as noise
  int8_t gc = u_charType(c);
  return u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT) || gc == U_FORMAT_CHAR ||
         gc == U_ENCLOSING_MARK;
}

bool IsNoise(UChar32 c) {
  if (IsDrop(c)) return false;
  // Private-use characters (vendor icons and emoji, or nothing at all) and noncharacters carry no
  // text a rule could be about; between the characters of a phrase they would hide it.
  if (u_hasBinaryProperty(c, UCHAR_NONCHARACTER_CODE_POINT)) return true;
  switch (u_charType(c)) {
    case U_PRIVATE_USE_CHAR:
    case U_SPACE_SEPARATOR:
    case U_LINE_SEPARATOR:
    case U_PARAGRAPH_SEPARATOR:
    case U_CONNECTOR_PUNCTUATION:
    case U_DASH_PUNCTUATION:
    case U_START_PUNCTUATION:
    case U_END_PUNCTUATION:
    case U_INITIAL_PUNCTUATION:
    case U_FINAL_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
    case U_MATH_SYMBOL:
    case U_CURRENCY_SYMBOL:
    case U_MODIFIER_SYMBOL:
    case U_OTHER_SYMBOL:
    case U_CONTROL_CHAR:
      return true;
    default:
      return false;
  }
}

// Nonspacing marks: after Han and the like they carry no meaning and only break up a phrase
// (加̸微̷信); after Latin, Greek, Thai or Devanagari letters they are part of the text.
bool IsMark(UChar32 c) { return !IsDrop(c) && u_charType(c) == U_NON_SPACING_MARK; }

bool IsMarkFree(UChar32 c) {
  const int8_t gc = u_charType(c);
  if (gc == U_NON_SPACING_MARK || gc == U_ENCLOSING_MARK || gc == U_COMBINING_SPACING_MARK)
    return false;
  for (UScriptCode s : {USCRIPT_HAN, USCRIPT_HIRAGANA, USCRIPT_KATAKANA, USCRIPT_HANGUL,
                        USCRIPT_BOPOMOFO}) {
    if (uscript_hasScript(c, s)) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT.inc\n", argv[0]);
    return 2;
  }
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(status);
  if (U_FAILURE(status)) {
    std::fprintf(stderr, "ICU NFKC: %s\n", u_errorName(status));
    return 1;
  }
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(status);
  if (U_FAILURE(status)) {
    std::fprintf(stderr, "ICU NFD: %s\n", u_errorName(status));
    return 1;
  }
  std::unique_ptr<icu::Transliterator> t2s(
      icu::Transliterator::createInstance("Hant-Hans", UTRANS_FORWARD, status));
  if (U_FAILURE(status)) {
    std::fprintf(stderr, "ICU Hant-Hans: %s\n", u_errorName(status));
    return 1;
  }
  MapTable nfkc_t{"kNfkc"}, fold_t{"kFold"}, t2s_t{"kT2s"};
  size_t t2s_kept = 0;
  std::map<uint32_t, uint32_t> t2s_map;
  for (UChar32 c = 0; c < 0x110000; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    icu::UnicodeString src(c);
    // NFKC of the single character.
    icu::UnicodeString n = nfkc->normalize(src, status);
    if (U_FAILURE(status)) return 1;
    if (n != src) nfkc_t.Add(c, ToCps(n));
    // Full case folding; a Latin letter with accents or tone marks then folds to the plain ASCII
    // letter (zuì → zui, wēi → wei: pinyin written with tones, an evasion of pinyin rules).
    icu::UnicodeString folded(src);
    folded.foldCase();
    UErrorCode lc = U_ZERO_ERROR;
    if (uscript_getScript(c, &lc) == USCRIPT_LATIN) {
      UErrorCode ds = U_ZERO_ERROR;
      const icu::UnicodeString d = nfd->normalize(folded, ds);
      if (U_SUCCESS(ds) && d.length() > 1 && d.charAt(0) < 0x80 &&
          ((d.charAt(0) >= 'a' && d.charAt(0) <= 'z'))) {
        bool marks_only = true;
        for (int32_t k = 1; k < d.length(); ++k)
          marks_only = marks_only && u_charType(d.charAt(k)) == U_NON_SPACING_MARK;
        if (marks_only) folded = icu::UnicodeString(d.charAt(0));
      }
    }
    if (folded != src) fold_t.Add(c, ToCps(folded));
    // Traditional -> Simplified, Han only, one character to one character, except characters
    // that are themselves standard Simplified with a meaning of their own (著名, 乾隆, 瞭望, 狼藉):
    // mapping those would change ordinary Simplified text. The same table is applied to rules and
    // messages, so a Traditional evasion of any other character is caught.
    UErrorCode sc = U_ZERO_ERROR;
    if (uscript_getScript(c, &sc) == USCRIPT_HAN) {
      icu::UnicodeString s(src);
      t2s->transliterate(s);
      std::vector<uint32_t> cps = ToCps(s);
      if (s != src && cps.size() == 1) {
        static const uint32_t kKeep[] = {0x8457 /*著*/, 0x4E7E /*乾*/, 0x77AD /*瞭*/, 0x85C9 /*藉*/};
        if (std::find(std::begin(kKeep), std::end(kKeep), static_cast<uint32_t>(c)) !=
            std::end(kKeep)) {
          ++t2s_kept;
        } else {
          t2s_map[static_cast<uint32_t>(c)] = cps[0];
        }
      }
    }
  }
  // ICU's Hant-Hans maps some characters both ways (苧 -> 苎 and 苎 -> 苧) or in chains
  // (薴 -> 苧 -> 苎): normalising twice would not give what normalising once gave. In a cycle, the
  // character in GB 2312 is the Simplified one and maps to nothing; a chain maps to its end.
  UConverter* gb2312 = ucnv_open("GB2312", &status);
  if (U_FAILURE(status)) {
    std::fprintf(stderr, "ICU GB2312 converter: %s\n", u_errorName(status));
    return 1;
  }
  ucnv_setFromUCallBack(gb2312, UCNV_FROM_U_CALLBACK_STOP, nullptr, nullptr, nullptr, &status);
  auto in_gb2312 = [&](uint32_t c) {
    UChar u[2];
    int32_t n = 0;
    U16_APPEND_UNSAFE(u, n, c);
    char out[8];
    UErrorCode e = U_ZERO_ERROR;
    ucnv_fromUChars(gb2312, out, sizeof out, u, n, &e);
    return U_SUCCESS(e);
  };
  size_t t2s_cycles = 0, t2s_chains = 0;
  for (auto it = t2s_map.begin(); it != t2s_map.end();) {
    // Walk from it->first; a cycle back to it is broken at its GB 2312 member.
    uint32_t x = it->second;
    size_t steps = 0;
    while (x != it->first && t2s_map.count(x) && ++steps <= t2s_map.size()) x = t2s_map[x];
    if (x == it->first && in_gb2312(it->first)) {
      ++t2s_cycles;
      it = t2s_map.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [from, to] : t2s_map) {
    size_t steps = 0;
    while (t2s_map.count(to) && ++steps <= t2s_map.size()) {
      to = t2s_map[to];
      ++t2s_chains;
    }
    if (steps > t2s_map.size() || to == from) {
      std::fprintf(stderr, "Hant-Hans: U+%04X is in a cycle with no GB 2312 member\n", from);
      return 1;
    }
  }
  ucnv_close(gb2312);
  for (const auto& [from, to] : t2s_map) t2s_t.Add(from, {to});

  std::vector<uint32_t> noise = Ranges(IsNoise);
  std::vector<uint32_t> drop = Ranges(IsDrop);
  std::vector<uint32_t> mark = Ranges(IsMark);
  std::vector<uint32_t> mark_free = Ranges(IsMarkFree);
  std::vector<uint32_t> clause = {0x0a, 0x0d, 0x21, 0x2c, 0x2e, 0x3b, 0x3f, 0x3002, 0xff01,
                                  0xff0c, 0xff1b, 0xff1f, 0xff0e, 0x2026, 0xff61, 0x3001};
  for (uint32_t c : clause) HashU32(c);

  FILE* f = std::fopen(argv[1], "w");
  if (!f) {
    std::perror(argv[1]);
    return 1;
  }
  std::fprintf(f, "// Generated by tools/gen_normdata.cc from ICU %s. Do not edit.\n",
               U_ICU_VERSION);
  std::fprintf(f, "// T->S pairs left out (standard Simplified characters of their own): %zu\n",
               t2s_kept);
  std::fprintf(f, "// T->S cycles broken: %zu, chains shortened: %zu\n", t2s_cycles, t2s_chains);
  std::fprintf(f, "#include <cstddef>\n#include <cstdint>\nnamespace scriptqa::normdata {\n");
  for (MapTable* t : {&nfkc_t, &fold_t, &t2s_t}) {
    Emit(f, (t->name + "Index").c_str(), t->index);
    Emit(f, (t->name + "Pool").c_str(), t->pool);
  }
  Emit(f, "kNoise", noise);
  Emit(f, "kDrop", drop);
  Emit(f, "kClause", clause);
  Emit(f, "kMark", mark);
  Emit(f, "kMarkFree", mark_free);
  std::fprintf(f, "inline constexpr uint64_t kNormDataHash = 0x%llxull;\n",
               static_cast<unsigned long long>(g_hash));
  std::fprintf(f, "inline constexpr char kIcuVersion[] = \"%s\";\n", U_ICU_VERSION);
  std::fprintf(f, "}  // namespace scriptqa::normdata\n");
  std::fclose(f);
  return 0;
}
