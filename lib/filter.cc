#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_join.h"
#include "dense.h"
#include "dictionary.h"
#include "filter_impl.h"
#include "hash.h"
#include "regex_class.h"
#include "base_grammar.inc"
#include "serial.h"
#include "utf8.h"

#ifndef SCRIPTQA_SOURCE_DICTIONARY_DIR
#define SCRIPTQA_SOURCE_DICTIONARY_DIR ""
#endif
#ifndef SCRIPTQA_INSTALL_DICTIONARY_DIR
#define SCRIPTQA_INSTALL_DICTIONARY_DIR ""
#endif

namespace scriptqa {

using internal::DatabasePtr;
using internal::Hasher;
using internal::Reader;
using internal::Writer;

namespace internal {

std::string HsErrorName(hs_error_t err) {
  switch (err) {
    case HS_SUCCESS: return "HS_SUCCESS";
    case HS_INVALID: return "HS_INVALID";
    case HS_NOMEM: return "HS_NOMEM";
    case HS_SCAN_TERMINATED: return "HS_SCAN_TERMINATED";
    case HS_COMPILER_ERROR: return "HS_COMPILER_ERROR";
    case HS_DB_VERSION_ERROR: return "HS_DB_VERSION_ERROR";
    case HS_DB_PLATFORM_ERROR: return "HS_DB_PLATFORM_ERROR";
    case HS_DB_MODE_ERROR: return "HS_DB_MODE_ERROR";
    case HS_BAD_ALIGN: return "HS_BAD_ALIGN";
    case HS_BAD_ALLOC: return "HS_BAD_ALLOC";
    case HS_SCRATCH_IN_USE: return "HS_SCRATCH_IN_USE";
    case HS_ARCH_ERROR: return "HS_ARCH_ERROR";
    case HS_INSUFFICIENT_SPACE: return "HS_INSUFFICIENT_SPACE";
    case HS_UNKNOWN_ERROR: return "HS_UNKNOWN_ERROR";
    default: return absl::StrCat("hs_error ", err);
  }
}

std::string TakeCompileError(hs_compile_error_t* err, hs_error_t rc) {
  std::string msg = err && err->message ? err->message : HsErrorName(rc);
  hs_free_compile_error(err);
  return msg;
}

std::string PlatformString() {
  hs_platform_info_t p;
  if (hs_populate_platform(&p) != HS_SUCCESS) return "unknown";
  return absl::StrCat("tune=", p.tune, ";features=", p.cpu_features);
}

std::vector<std::string> LiteralSet::EngineLiterals() {
  dense_lengths.clear();
  groups = SuffixGroups();
  std::vector<std::string> out;
  for (const auto* v : {&normalized, &gates})
    for (const std::string& l : *v) out.push_back(dense ? EncodeDense(l) : l);
  if (dense) {
    for (const std::string& e : out) dense_lengths.push_back(static_cast<uint32_t>(e.size()));
    groups = SuffixGroups(out);
  }
  return out;
}

absl::Status CompileLiterals(LiteralSet* set, const std::function<std::string(size_t)>& where,
                             bool dense) {
  DatabasePtr* out = &set->db;
  out->reset();
  set->dense = dense && !(set->normalized.empty() && set->gates.empty());
  const std::vector<std::string> encoded = set->EngineLiterals();
  if (encoded.empty()) return absl::OkStatus();
  // The literals on their own, then the endings of the groups (engine id encoded.size() + g).
  std::vector<const char*> exprs;
  std::vector<size_t> lens;
  std::vector<unsigned> ids, flags;
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (set->groups.grouped(i)) continue;
    exprs.push_back(encoded[i].data());
    lens.push_back(encoded[i].size());
    ids.push_back(static_cast<unsigned>(i));
  }
  for (size_t g = 0; g < set->groups.size(); ++g) {
    exprs.push_back(set->groups.ending(g).data());
    lens.push_back(set->groups.ending(g).size());
    ids.push_back(static_cast<unsigned>(encoded.size() + g));
  }
  flags.assign(exprs.size(), 0);
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  hs_error_t rc = hs_compile_lit_multi(exprs.data(), flags.data(), ids.data(), lens.data(),
                                       static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK,
                                       nullptr, &db, &err);
  if (rc != HS_SUCCESS) {
    // The failing expression's engine id is the literal's index (or a group's ending: the
    // database as a whole is named).
    const size_t failed = err && err->expression >= 0 &&
                                  static_cast<size_t>(err->expression) < ids.size() &&
                                  ids[static_cast<size_t>(err->expression)] < encoded.size()
                              ? ids[static_cast<size_t>(err->expression)]
                              : SIZE_MAX;
    std::string at = failed < set->normalized.size() ? where(failed)
                     : failed != SIZE_MAX
                         ? absl::StrCat("regex gate '", set->gates[failed - set->normalized.size()], "'")
                         : std::string("literal database");
    const std::string msg = TakeCompileError(err, rc);
    return absl::InvalidArgumentError(absl::StrCat(at, ": engine rejected literal: ", msg));
  }
  out->reset(db);
  // Hyperscan 5.4.0's literal matcher fails some scans with HS_UNKNOWN_ERROR: the terms
  // "e2x" + 34 x "2" and "2" fail every scan of a text holding the first (found by the compile
  // fuzz target; docs/reliability.md). Each literal's own text is scanned once here, so such a
  // dictionary is refused at load, naming the term, instead of failing scans of messages later.
  hs_scratch_t* raw_scratch = nullptr;
  if (hs_alloc_scratch(db, &raw_scratch) != HS_SUCCESS)
    return absl::ResourceExhaustedError("cannot allocate scratch space for the literal database");
  ScratchPtr scratch(raw_scratch);
  auto ignore = [](unsigned, unsigned long long, unsigned long long, unsigned, void*) { return 0; };
  for (size_t i = 0; i < encoded.size(); ++i) {
    rc = hs_scan(db, encoded[i].data(), static_cast<unsigned>(encoded[i].size()), 0,
                 scratch.get(), ignore, nullptr);
    if (rc != HS_SUCCESS) {
      out->reset();
      return absl::InvalidArgumentError(absl::StrCat(
          i < set->normalized.size()
              ? where(i)
              : absl::StrCat("regex gate '", set->gates[i - set->normalized.size()], "'"),
          ": engine rejected literal: the engine (", hs_version(),
          ") fails to scan the term's own text (", HsErrorName(rc), "); change or drop the term"));
    }
  }
  return absl::OkStatus();
}

}  // namespace internal

namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": read error"));
  return ss.str();
}

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

constexpr char kMagic[8] = {'S', 'C', 'R', 'I', 'P', 'T', 'Q', 'A'};
// 2: regexes carry min_width; one start-of-match database per variable-width regex replaces
// the start-of-match database of all regexes.
// 3: rules carry the context grammar (with, within, unless, unless-before/after, scope, speech
// acts); the speech acts follow the categories.
// 4: rules carry their masking characters (unless-masked) and reset terms (reset-by); windowed
// exemptions may cross clause breaks.
// 5: the context database (cue, companion and exemption terms) follows the start-of-match ones.
// 6: large literal databases are compiled from the dense encoding (dense.h); regex gates.
// 7: the context database is compiled in the literal database's encoding.
// 8: no context database (the checks find context terms through the lists' indexes).
// 9: literals sharing their last eight encoded bytes with many others are compiled as their
// group's ending (dense.h SuffixGroups; engine ids past the literals and gates).
constexpr uint32_t kFormatVersion = 9;

void HashRule(Hasher* h, const Rule& r) {
  h->Str(r.id);
  h->Str(r.category);
  h->U64(static_cast<uint64_t>(r.severity));
  h->Str(r.reason);
  for (const auto* v : {&r.literals, &r.regexes, &r.suggestions, &r.allow, &r.negate, &r.near,
                        &r.allow_before, &r.allow_after}) {
    h->U64(v->size());
    for (const auto& s : *v) h->Str(s);
  }
  h->U64(r.window);
  h->U64(static_cast<uint64_t>(r.validator));
  h->U64(static_cast<uint64_t>(r.boundary));
  h->U64(r.with.size());
  for (const auto& g : r.with) {
    h->U64(static_cast<uint64_t>(g.side));
    h->U64(g.terms.size());
    for (const auto& t : g.terms) h->Str(t);
  }
  h->U64(r.within);
  h->U64(r.unless.size());
  for (const auto& t : r.unless) h->Str(t);
  for (const auto* ws : {&r.unless_before, &r.unless_after}) {
    h->U64(ws->size());
    for (const WindowedTerms& w : *ws) {
      h->U64(w.window);
      h->U64(w.sentence ? 1 : 0);
      h->U64(w.terms.size());
      for (const auto& t : w.terms) h->Str(t);
    }
  }
  h->U64(static_cast<uint64_t>(r.scope));
  h->U64(r.speech_acts.size());
  for (const auto& a : r.speech_acts) h->Str(a);
  h->U64(r.unless_masked.size());
  for (const auto& m : r.unless_masked) h->Str(m);
  h->U64(r.reset_by.size());
  for (const auto& m : r.reset_by) h->Str(m);
}

void HashSpeechActs(Hasher* h, const std::vector<internal::SpeechAct>& acts) {
  h->U64(acts.size());
  for (const internal::SpeechAct& a : acts) {
    h->Str(a.name);
    h->U64(a.pseudo.size());
    for (const auto& t : a.pseudo) h->Str(t);
    h->U64(a.cues.size());
    for (const auto& c : a.cues) {
      h->U64(static_cast<uint64_t>(c.where) | static_cast<uint64_t>(c.scope) << 8 |
             static_cast<uint64_t>(c.question) << 16 | static_cast<uint64_t>(c.window) << 24);
      h->U64(c.terms.size());
      for (const auto& t : c.terms) h->Str(t);
    }
  }
}

// Start-of-match databases, one per regex whose matches can have different widths (null for a
// fixed-width regex, whose start is its end minus the width): ResolveRegexStarts (resolve.cc)
// scans only the databases of the regexes that hit, each over its own short window.
// `where(i)` names regex i in errors.
absl::Status CompileStartDatabases(const std::vector<std::string>& exprs,
                                   const std::vector<internal::RegexPattern>& patterns,
                                   const std::function<std::string(size_t)>& where,
                                   std::vector<internal::DatabasePtr>* out) {
  out->clear();
  out->resize(exprs.size());
  for (size_t i = 0; i < exprs.size(); ++i) {
    if (patterns[i].min_width == patterns[i].max_width) continue;
    hs_database_t* db = nullptr;
    hs_compile_error_t* err = nullptr;
    hs_error_t rc = hs_compile(exprs[i].c_str(), HS_FLAG_UTF8 | HS_FLAG_SOM_LEFTMOST, HS_MODE_BLOCK,
                               nullptr, &db, &err);
    if (rc != HS_SUCCESS) {
      return absl::InvalidArgumentError(absl::StrCat(
          where(i), ": engine rejected regex (start-of-match mode): ",
          internal::TakeCompileError(err, rc)));
    }
    (*out)[i].reset(db);
  }
  return absl::OkStatus();
}

// Writes a database, or an empty string for none.
absl::Status WriteDatabase(const hs_database_t* db, Writer* w) {
  if (!db) {
    w->Str("");
    return absl::OkStatus();
  }
  char* bytes = nullptr;
  size_t len = 0;
  hs_error_t rc = hs_serialize_database(db, &bytes, &len);
  if (rc != HS_SUCCESS)
    return absl::InternalError(
        absl::StrCat("cannot serialize database: ", internal::HsErrorName(rc)));
  w->Str(std::string_view(bytes, len));
  std::free(bytes);
  return absl::OkStatus();
}

// Reads a non-empty database blob, with Load's error codes.
absl::Status ReadDatabase(std::string_view blob, internal::DatabasePtr* out) {
  hs_database_t* db = nullptr;
  hs_error_t rc = hs_deserialize_database(blob.data(), blob.size(), &db);
  if (rc == HS_DB_VERSION_ERROR || rc == HS_DB_PLATFORM_ERROR)
    return absl::FailedPreconditionError(absl::StrCat(
        "engine database does not fit this machine (", internal::HsErrorName(rc),
        "): recompile it from the dictionaries"));
  if (rc != HS_SUCCESS)
    return absl::DataLossError(
        absl::StrCat("engine database is damaged: ", internal::HsErrorName(rc)));
  out->reset(db);
  return absl::OkStatus();
}

}  // namespace

const std::vector<std::string>& BuiltinCategories() {
  static const std::vector<std::string> kBuiltin = {"ad_law",  "deflection", "off_platform",
                                                    "review",  "privacy",    "script_quality"};
  return kBuiltin;
}

absl::Status FilterImpl::Finish() {
  rule_index.clear();
  category_index.clear();
  for (size_t i = 0; i < categories.size(); ++i)
    category_index.emplace(categories[i], static_cast<uint32_t>(i));
  rule_category.assign(rules.size(), 0);
  for (size_t i = 0; i < rules.size(); ++i) {
    rules[i].index = static_cast<uint32_t>(i);
    rule_index.emplace(rules[i].id, static_cast<uint32_t>(i));
    auto it = category_index.find(rules[i].category);
    if (it == category_index.end())
      return absl::DataLossError(absl::StrCat("rule ", rules[i].id, ": unknown category"));
    rule_category[i] = it->second;
  }
  rule_acts.assign(rules.size(), {});
  for (size_t i = 0; i < rules.size(); ++i) {
    for (const std::string& name : rules[i].speech_acts) {
      size_t a = 0;
      while (a < speech_acts.size() && speech_acts[a].name != name) ++a;
      if (a == speech_acts.size())
        return absl::DataLossError(absl::StrCat("rule ", rules[i].id, ": unknown speech act ", name));
      rule_acts[i].push_back(static_cast<uint32_t>(a));
    }
  }
  // Every list the checks search (term_indexes): the speech acts' cues and pseudo-cues (of the
  // acts some rule names) and each rule's companions, exemptions, negation, required-context,
  // reset terms and allow-contexts.
  // Lists with the same terms share one index, and so one id for a scanner's TermOccurrences.
  term_indexes.clear();
  term_list_ids.clear();
  absl::flat_hash_map<std::vector<std::string>, uint32_t> by_content;
  auto add = [&](const std::vector<std::string>& terms) {
    if (terms.empty() || term_list_ids.contains(&terms)) return;
    auto [it, fresh] = by_content.try_emplace(terms, static_cast<uint32_t>(term_indexes.size()));
    if (fresh) term_indexes.emplace_back(terms);
    term_list_ids[&terms] = it->second;
  };
  std::vector<bool> act_used(speech_acts.size(), false);
  for (const std::vector<uint32_t>& acts : rule_acts)
    for (uint32_t a : acts) act_used[a] = true;
  for (size_t a = 0; a < speech_acts.size(); ++a) {
    if (!act_used[a]) continue;
    for (const internal::SpeechAct::Cues& g : speech_acts[a].cues) add(g.terms);
    add(speech_acts[a].pseudo);
  }
  for (const Rule& r : rules) {
    for (const Companions& g : r.with) add(g.terms);
    for (const WindowedTerms& w : r.unless_before) add(w.terms);
    for (const WindowedTerms& w : r.unless_after) add(w.terms);
    add(r.unless);
    add(r.negate);
    add(r.near);
    add(r.reset_by);
    add(r.allow);
  }
  hs_scratch_t* scratch = nullptr;
  std::vector<hs_database_t*> all_dbs = {literals.db.get(), regex_db.get(), regex_stream_db.get()};
  for (const RegexGroup& g : regex_groups) all_dbs.push_back(g.db.get());
  for (const internal::DatabasePtr& db : regex_start_dbs) all_dbs.push_back(db.get());
  for (hs_database_t* db : all_dbs) {
    if (!db) continue;
    hs_error_t rc = hs_alloc_scratch(db, &scratch);
    if (rc != HS_SUCCESS) {
      hs_free_scratch(scratch);
      if (rc == HS_DB_PLATFORM_ERROR || rc == HS_DB_VERSION_ERROR || rc == HS_ARCH_ERROR)
        return absl::FailedPreconditionError(
            absl::StrCat("compiled database does not fit this machine (", internal::HsErrorName(rc),
                         "): recompile it from the dictionaries"));
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot allocate scratch space: ", internal::HsErrorName(rc)));
    }
  }
  prototype.reset(scratch);

  batch_separator = 0;
  bool anchored = false;
  for (const std::string& re : regex_exprs) anchored = anchored || internal::UsesAnchors(re);
  if (!anchored) {
    for (char c : {'\n', '\r', '\t', ' ', '\x1f'}) {
      if (normalizer->IsSkipped(static_cast<unsigned char>(c))) {
        batch_separator = c;
        break;
      }
    }
  }

  Hasher h;
  h.U64(normalizer->hash());
  h.Str(hs_version());
  h.U64(categories.size());
  for (const auto& c : categories) h.Str(c);
  h.U64(rules.size());
  for (const Rule& r : rules) HashRule(&h, r);
  HashSpeechActs(&h, speech_acts);
  for (const auto& p : literals.patterns) h.U64(p.edges);
  for (const auto& p : regexes) h.U64(uint64_t{p.min_width} << 32 | p.max_width);

  info.rule_count = rules.size();
  info.literal_count = literals.normalized.size();
  info.regex_count = regex_exprs.size();
  info.rules_hash = h.value();
  info.engine_version = hs_version();
  info.database_bytes = 0;
  for (hs_database_t* db : all_dbs) {
    size_t n = 0;
    if (db && hs_database_size(db, &n) == HS_SUCCESS) info.database_bytes += n;
  }
  return absl::OkStatus();
}

// Everything FromDictionaries checks before the engine compiles anything (Validate runs just
// this): reading and parsing, categories, duplicate ids, option targets, literal normalisation
// and the regex checks the engine answers without compiling (hs_expression_info).
absl::Status FilterImpl::Prepare(absl::Span<const DictionarySource> sources,
                                 const FilterOptions& options, FilterImpl* impl,
                                 PatternSites* sites) {
  impl->options = options;
  impl->normalizer = std::make_unique<internal::Normalizer>(options.normalization);
  const internal::Normalizer& norm = *impl->normalizer;

  std::vector<std::string> errors;
  internal::ParseResult parsed;
  internal::ParseBudget budget;
  budget.limits = options.limits;
  budget.disabled = options.disabled_rules;
  internal::Grammar grammar;
  if (options.base_grammar) {
    DictionarySource base =
        DictionarySource::Text(internal::kBaseGrammarName, internal::kBaseGrammar);
    base.kind = DictionarySource::Kind::kRules;
    internal::ParseDictionary(base, base.content, norm, &grammar, &parsed, &errors, &budget);
  }
  if (sources.empty()) errors.push_back("no dictionaries given");
  for (const DictionarySource& src : sources) {
    if (budget.exhausted) break;
    if (!src.content.empty()) {
      internal::ParseDictionary(src, src.content, norm, &grammar, &parsed, &errors, &budget);
      continue;
    }
    absl::StatusOr<std::string> text = ReadFile(src.path);
    if (!text.ok()) {
      errors.emplace_back(text.status().message());
      continue;
    }
    internal::ParseDictionary(src, *text, norm, &grammar, &parsed, &errors, &budget);
  }

  impl->speech_acts = std::move(grammar.speech_acts);

  // Categories: built-in, then declared, each once.
  impl->categories = BuiltinCategories();
  for (const std::string& c : parsed.declared_categories)
    if (std::find(impl->categories.begin(), impl->categories.end(), c) == impl->categories.end())
      impl->categories.push_back(c);
  auto is_category = [&](const std::string& c) {
    return std::find(impl->categories.begin(), impl->categories.end(), c) !=
           impl->categories.end();
  };

  // Duplicate ids, naming both places.
  absl::flat_hash_map<std::string, const Rule*> seen;
  for (const auto& pr : parsed.rules) {
    auto [it, inserted] = seen.emplace(pr.rule.id, &pr.rule);
    if (!inserted)
      errors.push_back(absl::StrCat(pr.rule.file, ":", pr.rule.line, ": rule ", pr.rule.id,
                                    ": duplicate rule id (first defined at ", it->second->file,
                                    ":", it->second->line, ")"));
  }
  // Options naming rules or categories must name existing ones.
  auto check_target = [&](const std::string& t, const char* what) {
    if (!seen.contains(t) && !is_category(t))
      errors.push_back(absl::StrCat(what, ": no rule or category '", t, "'"));
  };
  for (const auto& o : options.severity_overrides) check_target(o.target, "severity_overrides");
  for (const auto& d : options.disabled_rules) check_target(d, "disabled_rules");

  auto disabled = [&](const Rule& r) {
    for (const auto& d : options.disabled_rules)
      if (d == r.id || d == r.category) return true;
    return false;
  };

  std::vector<bool> explicit_boundary;  // per kept rule
  // Keep enabled rules; apply severity overrides (category first, then rule).
  for (auto& pr : parsed.rules) {
    Rule& r = pr.rule;
    if (disabled(r)) continue;
    for (const auto& o : options.severity_overrides)
      if (o.target == r.category) r.severity = o.severity;
    for (const auto& o : options.severity_overrides)
      if (o.target == r.id) r.severity = o.severity;
    // Without an explicit `boundary`, literals get per-side letter checks (below) and the
    // rule-level check stays off.
    explicit_boundary.push_back(pr.boundary_set);
    impl->rules.push_back(std::move(r));
  }

  // Patterns, within options.limits (filter.h: CompileLimits).
  const CompileLimits& limits = options.limits;
  size_t total_regex_bytes = 0;
  bool over_regexes = false, over_total = false, over_literals = false;
  // `what` says "{option}" where the C++ option (FilterOptions::limits.<bound>) goes.
  auto limit_error = [&](const Rule& r, absl::string_view bound, absl::string_view what) {
    std::string line = absl::StrCat(
        r.file, ":", r.line, ": rule ", r.id, ": ",
        absl::StrReplaceAll(what, {{"{option}", absl::StrCat("FilterOptions::limits.", bound)}}));
    if (!limits.raise_hint.empty())
      absl::StrAppend(&line, "; ", absl::StrReplaceAll(limits.raise_hint, {{"{name}", bound}}));
    errors.push_back(std::move(line));
  };
  for (size_t ri = 0; ri < impl->rules.size(); ++ri) {
    const Rule& r = impl->rules[ri];
    for (const std::string& l : r.literals) {
      std::string n = norm.Normalize(l);
      if (n.empty()) continue;  // reported by the parser
      if (limits.max_literals && impl->literals.normalized.size() >= limits.max_literals) {
        if (!over_literals && !budget.exhausted) errors.push_back(internal::LiteralBoundError(r, limits));
        over_literals = true;
        continue;
      }
      uint8_t edges = 0;
      if (!explicit_boundary[ri]) {
        if (IsAsciiLetter(n.front())) edges |= internal::kEdgeLeft;
        if (IsAsciiLetter(n.back())) edges |= internal::kEdgeRight;
        if (n.front() >= '0' && n.front() <= '9') edges |= internal::kEdgeLeftDigit;
        if (n.back() >= '0' && n.back() <= '9') edges |= internal::kEdgeRightDigit;
      }
      impl->literals.normalized.push_back(n);
      impl->literals.patterns.push_back(
          {static_cast<uint32_t>(ri), static_cast<uint32_t>(n.size()), edges});
      sites->literals.push_back({r.file, r.line, r.id});
    }
    for (const std::string& x : r.regexes) {
      if (limits.max_regex_bytes && x.size() > limits.max_regex_bytes) {
        limit_error(r, "max_regex_bytes",
                    absl::StrCat("regex of ", x.size(), " bytes, longer than the compile-time "
                                 "bound of ", limits.max_regex_bytes,
                                 " ({option}; compile time grows "
                                 "faster than the regex): split it or use literals"));
        continue;
      }
      if (limits.max_regexes && impl->regex_exprs.size() >= limits.max_regexes) {
        if (!over_regexes)
          limit_error(r, "max_regexes",
                      absl::StrCat("more than ", limits.max_regexes,
                                   " regexes in the dictionaries (the compile-time bound "
                                   "{option}); this is the first past it"));
        over_regexes = true;
        continue;
      }
      total_regex_bytes += x.size();
      if (limits.max_total_regex_bytes && total_regex_bytes > limits.max_total_regex_bytes) {
        if (!over_total)
          limit_error(r, "max_total_regex_bytes",
                      absl::StrCat("the regexes so far total ", total_regex_bytes,
                                   " bytes, more than the compile-time bound of ",
                                   limits.max_total_regex_bytes,
                                   " ({option})"));
        over_total = true;
        continue;
      }
      hs_expr_info_t* info = nullptr;
      hs_compile_error_t* err = nullptr;
      if (hs_expression_info(x.c_str(), HS_FLAG_UTF8, &info, &err) != HS_SUCCESS) {
        errors.push_back(absl::StrCat(r.file, ":", r.line, ": rule ", r.id, ": bad regex '", x,
                                      "': ", err && err->message ? err->message : "rejected"));
        hs_free_compile_error(err);
        continue;
      }
      bool empty_match = info->min_width == 0;
      uint32_t min_width = info->min_width, max_width = info->max_width;
      std::free(info);
      if (empty_match) {
        errors.push_back(absl::StrCat(r.file, ":", r.line, ": rule ", r.id, ": regex '", x,
                                      "' matches the empty string"));
        continue;
      }
      // The engine's start-of-match runtime (Vectorscan 5.4.9) aborts the process on unbounded
      // matches of 255+ bytes (docs/reliability.md), so every regex needs a bounded width.
      if (max_width == UINT_MAX) {
        errors.push_back(absl::StrCat(r.file, ":", r.line, ": rule ", r.id, ": regex '", x,
                                      "' has no upper bound on its match length (use a bounded "
                                      "repetition such as {1,64} instead of + or *)"));
        continue;
      }
      impl->regex_exprs.push_back(x);
      impl->regexes.push_back({static_cast<uint32_t>(ri), max_width, min_width});
      sites->regexes.push_back({r.file, r.line, r.id});
    }
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        errors.size(), errors.size() == 1 ? " problem" : " problems",
        " in the dictionaries:\n", absl::StrJoin(errors, "\n")));
  }
  if (impl->rules.empty()) return absl::InvalidArgumentError("the dictionaries define no rules");
  return absl::OkStatus();
}


// The engine's part: the literal and regex databases, then Finish. Errors here are the ones
// Validate cannot see (the engine rejects a pattern it accepted in hs_expression_info).
absl::Status FilterImpl::Compile(const PatternSites& sites) {
  auto lit_at = [&](size_t i) {
    const PatternSite& w = sites.literals[i];
    return absl::StrCat(w.file, ":", w.line, ": rule ", w.rule_id);
  };
  // Regex groups by required classes, each gated by its regexes' required factors when every
  // one of them has some; the gates are compiled with the literals (one engine pass finds both).
  std::map<uint32_t, std::vector<unsigned>> by_class;
  for (size_t i = 0; i < regex_exprs.size(); ++i)
    by_class[internal::RequiredClasses(regex_exprs[i])].push_back(static_cast<unsigned>(i));
  std::vector<bool> group_gated;
  {
    std::map<std::string, uint32_t> gate_groups;
    uint32_t bit = 0;
    for (const auto& [required, members] : by_class) {
      std::set<std::string> mine;
      bool gated = true;
      std::vector<std::string> factors;
      for (unsigned id : members) {
        // A one-character factor (a digit, 号) is about as common as the group's class: such
        // a gate would cost a hit per occurrence and skip almost nothing.
        if (!internal::RequiredFactors(regex_exprs[id], &factors) ||
            std::any_of(factors.begin(), factors.end(),
                        [](const std::string& f) { return internal::CountChars(f) < 2; })) {
          gated = false;
          break;
        }
        for (std::string& f : factors) mine.insert(std::move(f));
      }
      group_gated.push_back(gated);
      if (gated)
        for (const std::string& g : mine) gate_groups[g] |= 1u << bit;
      ++bit;
    }
    literals.gates.clear();
    literals.gate_groups.clear();
    for (const auto& [g, m] : gate_groups) {
      literals.gates.push_back(g);
      literals.gate_groups.push_back(m);
    }
  }
  absl::Status st = internal::CompileLiterals(
      &literals, lit_at, internal::PreferDense(literals.normalized, literals.gates));
  if (!st.ok()) return st;

  if (!regex_exprs.empty()) {
    std::vector<const char*> exprs;
    std::vector<unsigned> ids, flags;
    for (size_t i = 0; i < regex_exprs.size(); ++i) {
      exprs.push_back(regex_exprs[i].c_str());
      ids.push_back(static_cast<unsigned>(i));
      flags.push_back(HS_FLAG_UTF8);
    }
    // Pass 0: fast block scan; 2: streaming (start of match: CompileStartDatabases).
    for (int pass = 0; pass < 3; pass += 2) {
      hs_database_t* db = nullptr;
      hs_compile_error_t* err = nullptr;
      hs_error_t rc = hs_compile_multi(exprs.data(), flags.data(),
                                       ids.data(), static_cast<unsigned>(exprs.size()),
                                       pass == 2 ? HS_MODE_STREAM : HS_MODE_BLOCK, nullptr, &db,
                                       &err);
      if (rc != HS_SUCCESS) {
        std::string at = "regex database";
        if (err && err->expression >= 0) {
          const PatternSite& w = sites.regexes[static_cast<size_t>(err->expression)];
          at = absl::StrCat(w.file, ":", w.line, ": rule ", w.rule_id);
        }
        const std::string msg = internal::TakeCompileError(err, rc);
        return absl::InvalidArgumentError(absl::StrCat(
            at, ": engine rejected regex",
            pass == 2 ? " (streaming mode)" : "", ": ", msg));
      }
      (pass == 0 ? regex_db : regex_stream_db)
          .reset(db);
    }
    auto re_at = [&](size_t i) {
      const PatternSite& w = sites.regexes[i];
      return absl::StrCat(w.file, ":", w.line, ": rule ", w.rule_id);
    };
    absl::Status som = CompileStartDatabases(regex_exprs, regexes, re_at, &regex_start_dbs);
    if (!som.ok()) return som;
    // The groups of the block scan.
    {
      size_t index = 0;
      for (const auto& [required, members] : by_class) {
        std::vector<const char*> g_exprs;
        std::vector<unsigned> g_flags(members.size(), HS_FLAG_UTF8);
        for (unsigned id : members) g_exprs.push_back(regex_exprs[id].c_str());
        hs_database_t* db = nullptr;
        hs_compile_error_t* err = nullptr;
        hs_error_t rc = hs_compile_multi(g_exprs.data(), g_flags.data(), members.data(),
                                         static_cast<unsigned>(members.size()), HS_MODE_BLOCK,
                                         nullptr, &db, &err);
        if (rc != HS_SUCCESS) {
          return absl::InternalError(absl::StrCat("engine rejected a gated regex group: ",
                                                  internal::TakeCompileError(err, rc)));
        }
        regex_groups.push_back({required, internal::DatabasePtr(db), group_gated[index++]});
      }
    }
  }
  IndexRegexGroups();

  return Finish();
}

absl::StatusOr<std::shared_ptr<const Filter>> FilterImpl::Build(
    absl::Span<const DictionarySource> sources, const FilterOptions& options) {
  if (const absl::Status& engine = internal::EngineSelfTest(); !engine.ok()) return engine;
  auto impl = std::make_unique<FilterImpl>();
  PatternSites sites;
  absl::Status st = Prepare(sources, options, impl.get(), &sites);
  if (!st.ok()) return st;
  st = impl->Compile(sites);
  if (!st.ok()) return st;
  return std::shared_ptr<const Filter>(new Filter(std::move(impl)));
}

absl::Status FilterImpl::Validate(absl::Span<const DictionarySource> sources,
                                  const FilterOptions& options) {
  FilterImpl impl;
  PatternSites sites;
  return Prepare(sources, options, &impl, &sites);
}


absl::StatusOr<std::string> FilterImpl::Serialize() const {
  Writer w;
  w.Raw(std::string_view(kMagic, sizeof kMagic));
  w.U32(kFormatVersion);
  w.U64(info.rules_hash);
  w.Str(hs_version());
  w.Str(internal::PlatformString());
  const NormalizationOptions& n = options.normalization;
  w.U8(n.fold_width);
  w.U8(n.fold_case);
  w.U8(n.traditional_to_simplified);
  w.U8(n.skip_noise);
  w.Str(n.significant);
  w.Str(n.extra_noise);
  w.U8(n.collapse_repeats);
  w.Strs(categories);
  w.U32(static_cast<uint32_t>(speech_acts.size()));
  for (const internal::SpeechAct& a : speech_acts) {
    w.Str(a.name);
    w.Strs(a.pseudo);
    w.U32(static_cast<uint32_t>(a.cues.size()));
    for (const auto& c : a.cues) {
      w.U8(static_cast<uint8_t>(c.where));
      w.U8(static_cast<uint8_t>(c.scope));
      w.U8(c.question);
      w.U32(c.window);
      w.Strs(c.terms);
    }
  }
  w.U32(static_cast<uint32_t>(rules.size()));
  for (const Rule& r : rules) {
    w.Str(r.id);
    w.Str(r.category);
    w.U8(static_cast<uint8_t>(r.severity));
    w.Str(r.reason);
    w.Strs(r.literals);
    w.Strs(r.regexes);
    w.Strs(r.suggestions);
    w.Strs(r.allow);
    w.Strs(r.negate);
    w.Strs(r.near);
    w.Strs(r.allow_before);
    w.Strs(r.allow_after);
    w.U32(r.window);
    w.U8(static_cast<uint8_t>(r.validator));
    w.U8(static_cast<uint8_t>(r.boundary));
    w.Strs(r.hit_examples);
    w.Strs(r.miss_examples);
    w.Str(r.file);
    w.U32(r.line);
    w.U32(static_cast<uint32_t>(r.with.size()));
    for (const auto& g : r.with) {
      w.U8(static_cast<uint8_t>(g.side));
      w.Strs(g.terms);
    }
    w.U32(r.within);
    w.Strs(r.unless);
    for (const auto* ws : {&r.unless_before, &r.unless_after}) {
      w.U32(static_cast<uint32_t>(ws->size()));
      for (const WindowedTerms& t : *ws) {
        w.U32(t.window);
        w.Strs(t.terms);
        w.U8(t.sentence ? 1 : 0);
      }
    }
    w.U8(static_cast<uint8_t>(r.scope));
    w.Strs(r.speech_acts);
    w.Strs(r.unless_masked);
    w.Strs(r.reset_by);
  }
  w.U32(static_cast<uint32_t>(literals.patterns.size()));
  for (size_t i = 0; i < literals.patterns.size(); ++i) {
    w.Str(literals.normalized[i]);
    w.U32(literals.patterns[i].rule);
    w.U8(literals.patterns[i].edges);
  }
  w.U32(static_cast<uint32_t>(literals.gates.size()));
  for (size_t i = 0; i < literals.gates.size(); ++i) {
    w.Str(literals.gates[i]);
    w.U32(literals.gate_groups[i]);
  }
  w.U32(static_cast<uint32_t>(regexes.size()));
  for (size_t i = 0; i < regexes.size(); ++i) {
    w.Str(regex_exprs[i]);
    w.U32(regexes[i].rule);
    w.U32(regexes[i].max_width);
    w.U32(regexes[i].min_width);
  }
  for (hs_database_t* db : {literals.db.get(), regex_db.get(), regex_stream_db.get()}) {
    if (!db) {
      w.Str("");
      continue;
    }
    char* bytes = nullptr;
    size_t len = 0;
    hs_error_t rc = hs_serialize_database(db, &bytes, &len);
    if (rc != HS_SUCCESS)
      return absl::InternalError(absl::StrCat("cannot serialize database: ", internal::HsErrorName(rc)));
    w.Str(std::string_view(bytes, len));
    std::free(bytes);
  }
  w.U32(static_cast<uint32_t>(regex_groups.size()));
  for (const RegexGroup& g : regex_groups) {
    char* bytes = nullptr;
    size_t len = 0;
    hs_error_t rc = hs_serialize_database(g.db.get(), &bytes, &len);
    if (rc != HS_SUCCESS)
      return absl::InternalError(absl::StrCat("cannot serialize database: ", internal::HsErrorName(rc)));
    w.U32(g.required);
    w.U8(g.gated ? 1 : 0);
    w.Str(std::string_view(bytes, len));
    std::free(bytes);
  }
  for (const internal::DatabasePtr& db : regex_start_dbs) {
    absl::Status st = WriteDatabase(db.get(), &w);
    if (!st.ok()) return st;
  }
  w.U64(internal::Checksum64(w.data().data(), w.data().size()));
  return std::move(w.data());
}

absl::StatusOr<std::shared_ptr<const Filter>> FilterImpl::Load(std::string_view bytes) {
  if (const absl::Status& engine = internal::EngineSelfTest(); !engine.ok()) return engine;
  if (bytes.size() < sizeof kMagic + 4 + 8 ||
      std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    return absl::InvalidArgumentError("not a scriptqa database (bad magic)");
  Reader head(bytes.substr(sizeof kMagic));
  uint32_t version = 0;
  head.U32(&version);
  if (version != kFormatVersion)
    return absl::FailedPreconditionError(absl::StrCat(
        "database format version ", version, ", this library reads version ", kFormatVersion,
        ": recompile it from the dictionaries"));
  {
    Reader tail(bytes.substr(bytes.size() - 8));
    uint64_t sum = 0;
    tail.U64(&sum);
    if (sum != internal::Checksum64(bytes.data(), bytes.size() - 8))
      return absl::DataLossError("database is damaged (checksum mismatch)");
  }
  Reader r(bytes.substr(sizeof kMagic + 4, bytes.size() - sizeof kMagic - 4 - 8));
  auto bad = [](const char* what) {
    return absl::DataLossError(absl::StrCat("database is malformed (", what, ")"));
  };
  uint64_t stored_hash = 0;
  std::string engine, platform;
  if (!r.U64(&stored_hash) || !r.Str(&engine) || !r.Str(&platform)) return bad("header");
  if (engine != hs_version())
    return absl::FailedPreconditionError(absl::StrCat(
        "database was compiled with engine '", engine, "', this library uses '", hs_version(),
        "': recompile it from the dictionaries"));
  if (platform != internal::PlatformString())
    return absl::FailedPreconditionError(absl::StrCat(
        "database was compiled for platform '", platform, "', this machine is '",
        internal::PlatformString(), "': recompile it from the dictionaries"));

  auto impl = std::make_unique<FilterImpl>();
  NormalizationOptions& n = impl->options.normalization;
  if (!r.Bool(&n.fold_width) || !r.Bool(&n.fold_case) || !r.Bool(&n.traditional_to_simplified) ||
      !r.Bool(&n.skip_noise) || !r.Str(&n.significant) || !r.Str(&n.extra_noise) ||
      !r.Bool(&n.collapse_repeats))
    return bad("options");
  if (!r.Strs(&impl->categories)) return bad("categories");
  uint32_t count = 0;
  if (!r.U32(&count) || count > r.remaining()) return bad("speech acts");
  impl->speech_acts.resize(count);
  for (internal::SpeechAct& a : impl->speech_acts) {
    uint32_t groups = 0;
    if (!r.Str(&a.name) || !r.Strs(&a.pseudo) || !r.U32(&groups) || groups > r.remaining())
      return bad("speech act");
    a.cues.resize(groups);
    for (auto& c : a.cues) {
      uint8_t where = 0, scope = 0;
      bool question = false;
      if (!r.U8(&where) || where > 5 || !r.U8(&scope) || scope > 1 || !r.Bool(&question) ||
          !r.U32(&c.window) || c.window > 64 || !r.Strs(&c.terms))
        return bad("speech act cues");
      c.where = static_cast<internal::CueWhere>(where);
      c.scope = static_cast<Scope>(scope);
      c.question = question;
      for (const std::string& t : c.terms)
        if (t.empty()) return bad("speech act cue");
    }
    for (const std::string& t : a.pseudo)
      if (t.empty()) return bad("speech act pseudo-cue");
  }
  if (!r.U32(&count) || count > r.remaining()) return bad("rules");
  impl->rules.resize(count);
  for (Rule& rule : impl->rules) {
    uint8_t sev, val, bnd;
    if (!r.Str(&rule.id) || !r.Str(&rule.category) || !r.U8(&sev) || sev > 2 ||
        !r.Str(&rule.reason) || !r.Strs(&rule.literals) || !r.Strs(&rule.regexes) ||
        !r.Strs(&rule.suggestions) || !r.Strs(&rule.allow) || !r.Strs(&rule.negate) ||
        !r.Strs(&rule.near) || !r.Strs(&rule.allow_before) || !r.Strs(&rule.allow_after) ||
        !r.U32(&rule.window) || !r.U8(&val) || val > 4 || !r.U8(&bnd) ||
        bnd > 3 || !r.Strs(&rule.hit_examples) || !r.Strs(&rule.miss_examples) ||
        !r.Str(&rule.file) || !r.U32(&rule.line))
      return bad("rule");
    uint32_t groups = 0;
    if (!r.U32(&groups) || groups > r.remaining()) return bad("rule companions");
    rule.with.resize(groups);
    for (auto& g : rule.with) {
      uint8_t side = 0;
      if (!r.U8(&side) || side > 2 || !r.Strs(&g.terms) || g.terms.empty())
        return bad("rule companions");
      g.side = static_cast<Side>(side);
    }
    if (!r.U32(&rule.within) || rule.within > 64 || !r.Strs(&rule.unless)) return bad("rule context");
    for (auto* ws : {&rule.unless_before, &rule.unless_after}) {
      uint32_t n = 0;
      if (!r.U32(&n) || n > r.remaining()) return bad("rule context");
      ws->resize(n);
      for (WindowedTerms& t : *ws)
        if (!r.U32(&t.window) || t.window < 1 || t.window > 64 || !r.Strs(&t.terms) ||
            !r.Bool(&t.sentence))
          return bad("rule context");
    }
    uint8_t scope = 0;
    if (!r.U8(&scope) || scope > 2 || !r.Strs(&rule.speech_acts)) return bad("rule scope");
    if (!r.Strs(&rule.unless_masked) || !r.Strs(&rule.reset_by)) return bad("rule masking characters or resets");
    for (const std::string& m : rule.unless_masked)
      if (m.empty()) return bad("empty masking character");
    rule.scope = static_cast<Scope>(scope);
    // Empty context terms would match everywhere: a forged database, not a compiled one.
    for (const auto* v : {&rule.allow, &rule.allow_before, &rule.allow_after, &rule.negate,
                          &rule.near, &rule.unless, &rule.reset_by})
      for (const std::string& t : *v)
        if (t.empty()) return bad("empty context term");
    for (const auto& g : rule.with)
      for (const std::string& t : g.terms)
        if (t.empty()) return bad("empty companion");
    rule.severity = static_cast<Severity>(sev);
    rule.validator = static_cast<Validator>(val);
    rule.boundary = static_cast<Boundary>(bnd);
    for (const std::string& s : rule.suggestions)
      if (!internal::CheckTemplate(s).empty()) return bad("suggestion template");
  }
  if (!r.U32(&count) || count > r.remaining()) return bad("literals");
  for (uint32_t i = 0; i < count; ++i) {
    std::string s;
    uint32_t rule = 0;
    uint8_t edges = 0;
    if (!r.Str(&s) || !r.U32(&rule) || !r.U8(&edges) || rule >= impl->rules.size() || s.empty() ||
        edges > 15)
      return bad("literal");
    impl->literals.patterns.push_back({rule, static_cast<uint32_t>(s.size()), edges});
    impl->literals.normalized.push_back(std::move(s));
  }
  if (!r.U32(&count) || count > r.remaining()) return bad("regex gates");
  for (uint32_t i = 0; i < count; ++i) {
    std::string s;
    uint32_t groups = 0;
    if (!r.Str(&s) || !r.U32(&groups) || s.empty() || groups == 0 || groups > 0xFF)
      return bad("regex gate");
    impl->literals.gates.push_back(std::move(s));
    impl->literals.gate_groups.push_back(groups);
  }
  if (!r.U32(&count) || count > r.remaining()) return bad("regexes");
  for (uint32_t i = 0; i < count; ++i) {
    std::string s;
    internal::RegexPattern p;
    if (!r.Str(&s) || !r.U32(&p.rule) || !r.U32(&p.max_width) || !r.U32(&p.min_width) ||
        p.rule >= impl->rules.size() || p.min_width == 0 || p.min_width > p.max_width)
      return bad("regex");
    impl->regex_exprs.push_back(std::move(s));
    impl->regexes.push_back(p);
  }
  impl->literals.dense = internal::PreferDense(impl->literals.normalized, impl->literals.gates);
  if (impl->literals.dense) impl->literals.EngineLiterals();  // dense_lengths and groups
  DatabasePtr* dbs[] = {&impl->literals.db, &impl->regex_db, &impl->regex_stream_db};
  const bool has_lit = !impl->literals.patterns.empty() || !impl->literals.gates.empty();
  const bool has_re = !impl->regexes.empty();
  const bool needed[] = {has_lit, has_re, has_re};
  for (int i = 0; i < 3; ++i) {
    std::string_view blob;
    if (!r.StrView(&blob)) return bad("engine database");
    if (blob.empty() != !needed[i]) return bad("engine database presence");
    if (blob.empty()) continue;
    absl::Status st = ReadDatabase(blob, dbs[i]);
    if (!st.ok()) return st;
  }
  uint32_t groups = 0;
  if (!r.U32(&groups) || groups > 8 || (groups > 0 && impl->regexes.empty())) return bad("regex groups");
  for (uint32_t g = 0; g < groups; ++g) {
    uint32_t required = 0;
    uint8_t gated = 0;
    std::string_view blob;
    if (!r.U32(&required) || required > 7 || !r.U8(&gated) || gated > 1 || !r.StrView(&blob) ||
        blob.empty())
      return bad("regex group");
    internal::DatabasePtr db;
    absl::Status st = ReadDatabase(blob, &db);
    if (!st.ok()) return st;
    impl->regex_groups.push_back({required, std::move(db), gated == 1});
  }
  for (uint32_t m : impl->literals.gate_groups)
    if (m >> impl->regex_groups.size()) return bad("regex gate groups");
  impl->IndexRegexGroups();
  impl->regex_start_dbs.resize(impl->regexes.size());
  for (size_t i = 0; i < impl->regexes.size(); ++i) {
    std::string_view blob;
    if (!r.StrView(&blob)) return bad("start-of-match database");
    const bool fixed = impl->regexes[i].min_width == impl->regexes[i].max_width;
    if (blob.empty() != fixed) return bad("start-of-match database presence");
    if (blob.empty()) continue;
    absl::Status st = ReadDatabase(blob, &impl->regex_start_dbs[i]);
    if (!st.ok()) return st;
  }
  if (r.remaining() != 0) return bad("trailing bytes");
  impl->normalizer = std::make_unique<internal::Normalizer>(n);
  for (const Rule& rule : impl->rules)
    if (std::find(impl->categories.begin(), impl->categories.end(), rule.category) ==
        impl->categories.end())
      return bad("rule category");
  absl::Status st = impl->Finish();
  if (!st.ok()) return st;
  if (impl->info.rules_hash != stored_hash)
    return absl::DataLossError(
        "database is inconsistent (its rules do not hash to the stored value; normalisation "
        "tables differ from this library's): recompile it from the dictionaries");
  return std::shared_ptr<const Filter>(new Filter(std::move(impl)));
}

// ---- Filter ---------------------------------------------------------------------------------

Filter::Filter(std::unique_ptr<FilterImpl> impl) : impl_(std::move(impl)) {}
Filter::~Filter() = default;

absl::StatusOr<std::shared_ptr<const Filter>> Filter::FromDictionaries(
    absl::Span<const DictionarySource> sources, const FilterOptions& options) {
  return FilterImpl::Build(sources, options);
}

absl::Status Filter::Validate(absl::Span<const DictionarySource> sources,
                              const FilterOptions& options) {
  return FilterImpl::Validate(sources, options);
}

absl::StatusOr<std::shared_ptr<const Filter>> Filter::FromFiles(
    absl::Span<const std::string> paths, const FilterOptions& options) {
  std::vector<DictionarySource> sources;
  for (const auto& p : paths) sources.push_back(DictionarySource::File(p));
  return FilterImpl::Build(sources, options);
}

std::string Filter::DefaultDictionaryDir() {
  struct stat st;
  if (const char* env = std::getenv("SCRIPTQA_DICTIONARIES"); env && *env) return env;
  for (const char* dir : {SCRIPTQA_SOURCE_DICTIONARY_DIR, SCRIPTQA_INSTALL_DICTIONARY_DIR})
    if (*dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return dir;
  return SCRIPTQA_INSTALL_DICTIONARY_DIR;
}

absl::StatusOr<std::shared_ptr<const Filter>> Filter::Default(const FilterOptions& options) {
  std::string dir = DefaultDictionaryDir();
  DIR* d = opendir(dir.c_str());
  if (!d)
    return absl::NotFoundError(absl::StrCat("cannot open dictionary directory '", dir,
                                            "' (set SCRIPTQA_DICTIONARIES): ",
                                            std::strerror(errno)));
  std::vector<std::string> paths;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > 6 && name.compare(name.size() - 6, 6, ".rules") == 0)
      paths.push_back(dir + "/" + name);
  }
  closedir(d);
  std::sort(paths.begin(), paths.end());
  if (paths.empty())
    return absl::NotFoundError(absl::StrCat("no *.rules files in '", dir, "'"));
  return FromFiles(paths, options);
}

absl::StatusOr<std::string> Filter::Serialize() const { return impl_->Serialize(); }

absl::Status Filter::SaveFile(const std::string& path) const {
  absl::StatusOr<std::string> bytes = Serialize();
  if (!bytes.ok()) return bytes.status();
  // The target is replaced only when it is a regular file (or absent): a device, FIFO or
  // directory of that name is refused and left as it is.
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": not a regular file; refusing to replace it"));
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": not a regular file; refusing to replace it"));
  // A fresh temporary of our own in the target's directory (mkstemp: O_CREAT | O_EXCL, so no
  // existing name, link or not, is ever opened), written, synced, then renamed over the target.
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  std::string tmp = path + ".XXXXXX";
  int fd = mkstemp(tmp.data());
  if (fd < 0)
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": cannot create a temporary file beside it: ", std::strerror(errno)));
  auto fail = [&](absl::Status status) {
    close(fd);
    unlink(tmp.c_str());
    return status;
  };
  for (size_t done = 0; done < bytes->size();) {
    ssize_t n = write(fd, bytes->data() + done, bytes->size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return fail(absl::DataLossError(absl::StrCat(tmp, ": write failed: ", std::strerror(errno))));
    done += static_cast<size_t>(n);
  }
  if (fchmod(fd, 0644) != 0 || fsync(fd) != 0)
    return fail(absl::DataLossError(absl::StrCat(tmp, ": ", std::strerror(errno))));
  if (close(fd) != 0) {
    fd = -1;
    unlink(tmp.c_str());
    return absl::DataLossError(absl::StrCat(tmp, ": ", std::strerror(errno)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status st2 =
        absl::PermissionDeniedError(absl::StrCat(path, ": cannot rename: ", std::strerror(errno)));
    unlink(tmp.c_str());
    return st2;
  }
  // The rename itself is durable once the directory is synced.
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)fsync(dfd);
    close(dfd);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const Filter>> Filter::Deserialize(std::string_view bytes) {
  return FilterImpl::Load(bytes);
}

absl::StatusOr<std::shared_ptr<const Filter>> Filter::LoadFile(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<std::shared_ptr<const Filter>> f = FilterImpl::Load(*bytes);
  if (!f.ok()) return absl::Status(f.status().code(), absl::StrCat(path, ": ", f.status().message()));
  return f;
}

absl::Span<const Rule> Filter::rules() const { return impl_->rules; }

const Rule* Filter::FindRule(std::string_view id) const {
  auto it = impl_->rule_index.find(std::string(id));
  return it == impl_->rule_index.end() ? nullptr : &impl_->rules[it->second];
}

const std::vector<std::string>& Filter::categories() const { return impl_->categories; }
const FilterInfo& Filter::info() const { return impl_->info; }
const NormalizationOptions& Filter::normalization() const { return impl_->options.normalization; }
std::string Filter::Normalize(std::string_view text) const {
  return impl_->normalizer->Normalize(text);
}

std::string_view Version() { return SCRIPTQA_VERSION_STRING; }
std::string_view EngineVersion() { return hs_version(); }

}  // namespace scriptqa
