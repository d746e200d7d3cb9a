// The rule language's grammar layer (docs/dictionary-format.md, "Word classes", "Variants",
// "Speech acts"): named word classes, variant tables and speech-act definitions, and the
// expansions the dictionary compiler applies with them. Everything here runs when a filter is
// built; what scanning needs (speech acts) is copied into the FilterImpl.
#ifndef SCRIPTQA_LIB_GRAMMAR_H_
#define SCRIPTQA_LIB_GRAMMAR_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "normalizer.h"
#include "scriptqa/types.h"

namespace scriptqa::internal {

// Where a speech act's cue must stand relative to a hit (SpeechAct::Cues::where).
enum class CueWhere : uint8_t {
  kBefore,  // ends before the hit, in its scope, within `window` characters of it
  kAfter,   // starts after the hit, likewise
  kAround,  // either
  kQuote,   // the hit is inside quotation marks and a cue stands in its sentence outside them
  kPath,    // the hit is inside quotation marks joined to another quoted label by a path
            // separator: an interface path such as 点击“微信”-“我”-“卡包” (no cues)
  kTitle,   // the hit is inside title marks 《》 or 〈〉: the name of a book, show or song
            // (《王牌对王牌》, 《最强大脑》), not a claim (no cues)
};

// One speech act (negation, warning, reported speech …): groups of cues, each with its position,
// scope and window; pseudo-cues look like cues but are not (不错 is no negation), so an
// occurrence of a cue inside an occurrence of a pseudo-cue does not count.
struct SpeechAct {
  struct Cues {
    CueWhere where = CueWhere::kBefore;
    Scope scope = Scope::kClause;
    uint32_t window = 0;    // characters; 0: the whole scope
    bool question = false;  // only when the hit's sentence is a question (？ at its end, or 吗/呢)
    std::vector<std::string> terms;  // normalised
  };
  std::string name;
  std::vector<Cues> cues;
  std::vector<std::string> pseudo;  // normalised
};

// The definitions made so far by %class, %variant and %speech-act, shared by every source of one
// filter in load order (the base grammar first).
struct Grammar {
  struct Class {
    std::vector<std::string> members;  // expanded: no class references left; not normalised
    std::string where;                 // "file:line" of the definition
  };
  absl::flat_hash_map<std::string, Class> classes;
  // Variant tables: table name -> text -> its variants (normalised).
  std::map<std::string, std::map<std::string, std::vector<std::string>>> variants;
  std::vector<SpeechAct> speech_acts;
  const SpeechAct* FindSpeechAct(std::string_view name) const;
  SpeechAct* FindSpeechAct(std::string_view name);
};

// Bound on the expansions of one term (classes multiply): past it, a load error.
inline constexpr size_t kMaxExpansions = 20000;
// Bound on the variants of one term.
inline constexpr size_t kMaxVariants = 256;

// Appends to *out every expansion of `term`'s class references: "{name}" is each member of the
// class, "{name?}" also nothing; "\{" and "\}" are literal braces. Returns "" or the problem.
std::string ExpandClasses(std::string_view term, const Grammar& grammar,
                          std::vector<std::string>* out);

// A regex with each "{name}" / "{name?}" replaced by a non-capturing group of the class's
// members, normalised and escaped ("(?:a|b)", "(?:a|b)?"). Counted repetitions ({2}, {1,4}, {,3})
// are left as they are. Returns "" or the problem.
std::string ExpandRegexClasses(std::string_view re, const Grammar& grammar,
                               const Normalizer& normalizer, std::string* out);

// Appends to *out the variants of normalised `term` under the named tables, not the term itself:
// at most two substitutions of a table's entries ("微信" -> "薇信", "v信", "薇x" …) and, for
// "pinyin" (built in), the term spelled in pinyin: all of it (toneless and toned), and each mix of
// characters and toneless syllables for terms of up to four characters ("zui好用"). At most
// kMaxVariants. Returns "" or the problem (an unknown table).
std::string AddVariants(const std::string& term, const std::vector<std::string>& tables,
                        const Grammar& grammar, const Normalizer& normalizer,
                        std::vector<std::string>* out);

// The pinyin reading of a CJK character ("" when it has none): toneless ("zui") or toned ("zuì").
std::string_view Pinyin(uint32_t cp, bool toned);

}  // namespace scriptqa::internal

#endif  // SCRIPTQA_LIB_GRAMMAR_H_
