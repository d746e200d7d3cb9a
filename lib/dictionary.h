// Parsing rule files and term lists (docs/dictionary-format.md) into Rules.
#ifndef SCRIPTQA_LIB_DICTIONARY_H_
#define SCRIPTQA_LIB_DICTIONARY_H_

#include <string>
#include <vector>

#include "grammar.h"
#include "normalizer.h"
#include "scriptqa/filter.h"
#include "scriptqa/types.h"

namespace scriptqa::internal {

struct ParsedRule {
  Rule rule;
  bool boundary_set = false;  // `boundary` given explicitly (else derived from the patterns)
};

struct ParseResult {
  std::vector<ParsedRule> rules;
  std::vector<std::string> declared_categories;  // from %category, in order
};

// Bounds checked while parsing (FilterOptions::limits), so that a dictionary past them is refused
// before it is held in memory, not after: the parser stops at the first rule past a bound.
struct ParseBudget {
  CompileLimits limits;
  std::vector<std::string> disabled;  // rules or categories whose literals do not count
  size_t literals = 0;                // literals of enabled rules so far, across sources
  bool exhausted = false;             // a bound was passed: parsing stopped
};

// The error for the first rule past the literal bound (also used after parsing).
std::string LiteralBoundError(const Rule& rule, const CompileLimits& limits);

// Parses one source. Problems are appended to *errors as "file:line: [rule ID: ]message"; the
// rules parsed are still returned so that all errors of all files can be collected.
// `known_categories` are the built-in ones; a file may add its own with %category.
// `grammar` holds the word classes, variant tables and speech acts defined by the sources parsed
// before (the base grammar first); this source's definitions are added to it.
void ParseDictionary(const DictionarySource& source, const std::string& text,
                     const Normalizer& normalizer, Grammar* grammar, ParseResult* result,
                     std::vector<std::string>* errors, ParseBudget* budget = nullptr);

// Checks a suggestion template; returns "" or the problem.
std::string CheckTemplate(std::string_view templ);

// Appends the rendering of template `templ` for `matched` (RenderSuggestion, types.h) to `out`;
// stops and returns false as soon as `out` would pass `limit` bytes (what it appended so far
// stays), so a template that repeats {match} cannot make a huge string first.
bool RenderSuggestionTo(std::string_view templ, std::string_view matched, size_t limit,
                        std::string* out);

}  // namespace scriptqa::internal

#endif  // SCRIPTQA_LIB_DICTIONARY_H_
