#include "dictionary.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "utf8.h"

namespace scriptqa::internal {
namespace {

constexpr size_t kMaxIdLength = 64;

bool ValidId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      return false;
  }
  return true;
}

// Exactly one well-formed UTF-8 character.
bool IsOneCodePoint(std::string_view s) {
  if (s.empty()) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  int len = 0;
  const uint32_t c = DecodeUtf8(p, p + s.size(), &len);
  return c != kInvalidCp && static_cast<size_t>(len) == s.size();
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Splits "key value" at the first blank.
void SplitKey(std::string_view line, std::string_view* key, std::string_view* value) {
  size_t i = 0;
  while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
  *key = line.substr(0, i);
  *value = Trim(line.substr(i));
}

// Splits a term list at unescaped '|'; handles \| and \\.
std::vector<std::string> SplitTerms(std::string_view v) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c == '\\' && i + 1 < v.size() && (v[i + 1] == '|' || v[i + 1] == '\\')) {
      cur += v[++i];
    } else if (c == '|') {
      out.emplace_back(Trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.emplace_back(Trim(cur));
  return out;
}

bool ParseValidator(std::string_view v, Validator* out) {
  if (v == "cn_mobile") *out = Validator::kCnMobile;
  else if (v == "cn_id18") *out = Validator::kCnId18;
  else if (v == "luhn") *out = Validator::kLuhn;
  else if (v == "cn_landline") *out = Validator::kCnLandline;
  else return false;
  return true;
}

bool ParseBoundary(std::string_view v, Boundary* out) {
  if (v == "none") *out = Boundary::kNone;
  else if (v == "alpha") *out = Boundary::kAlpha;
  else if (v == "digit") *out = Boundary::kDigit;
  else if (v == "alnum") *out = Boundary::kAlnum;
  else return false;
  return true;
}

bool ParseScope(std::string_view v, Scope* out) {
  if (v == "clause") *out = Scope::kClause;
  else if (v == "sentence") *out = Scope::kSentence;
  else if (v == "message") *out = Scope::kMessage;
  else return false;
  return true;
}

bool ParseWindow(std::string_view v, uint32_t* out) {
  if (v.empty() || v.size() > 3) return false;
  uint32_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  if (n < 1 || n > 64) return false;
  *out = n;
  return true;
}

std::string FileStem(const std::string& path) {
  size_t slash = path.find_last_of('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  size_t dot = base.find('.');
  if (dot != std::string::npos && dot > 0) base = base.substr(0, dot);
  std::string out;
  for (char c : base) {
    char l = absl::ascii_tolower(static_cast<unsigned char>(c));
    out += (ValidId(std::string_view(&l, 1)) ? l : '_');
  }
  if (out.empty()) out = "terms";
  return out.substr(0, kMaxIdLength - 8);
}

bool IsBuiltinCategory(std::string_view c) {
  const auto& b = BuiltinCategories();
  return std::find(b.begin(), b.end(), c) != b.end();
}

class Parser {
 public:
  Parser(const DictionarySource& source, const Normalizer& normalizer, Grammar* grammar,
         ParseResult* result, std::vector<std::string>* errors, ParseBudget* budget)
      : source_(source),
        norm_(normalizer),
        grammar_(grammar),
        result_(result),
        errors_(errors),
        budget_(budget),
        builtin_(source.path.rfind("<builtin>", 0) == 0) {}

  void Run(std::string_view text) {
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    // Decide the kind.
    bool rules = source_.kind == DictionarySource::Kind::kRules;
    bool terms = source_.kind == DictionarySource::Kind::kTermList;
    std::string_view first = FirstStatement(text);
    if (first.substr(0, 7) == "%format") {
      std::string_view key, value;
      SplitKey(first, &key, &value);
      if (value == "scriptqa-rules 1") {
        if (terms) return Error(first_line_, "", "a term list was expected, found '%format scriptqa-rules 1'");
        rules = true;
      } else if (value == "scriptqa-terms 1") {
        if (rules) return Error(first_line_, "", "a rule file was expected, found '%format scriptqa-terms 1'");
        terms = true;
      } else {
        return Error(first_line_, "",
                     absl::StrCat("unknown format '", std::string(value),
                                  "' (expected 'scriptqa-rules 1' or 'scriptqa-terms 1')"));
      }
    } else if (rules) {
      return Error(first_line_ ? first_line_ : 1, "",
                   "missing '%format scriptqa-rules 1' as the first statement");
    } else {
      terms = true;
    }
    if (rules) {
      ParseRules(text);
    } else {
      ParseTerms(text);
    }
  }

 private:
  std::string_view FirstStatement(std::string_view text) {
    uint32_t line_no = 0;
    size_t pos = 0;
    while (pos <= text.size()) {
      size_t nl = text.find('\n', pos);
      std::string_view line = Trim(text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
      ++line_no;
      if (!line.empty() && line[0] != '#') {
        first_line_ = line_no;
        return line;
      }
      if (nl == std::string_view::npos) break;
      pos = nl + 1;
    }
    return {};
  }

  void Error(uint32_t line, std::string_view rule_id, std::string_view msg) {
    std::string e = absl::StrCat(source_.path, ":", line, ": ");
    if (!rule_id.empty()) absl::StrAppend(&e, "rule ", std::string(rule_id), ": ");
    absl::StrAppend(&e, std::string(msg));
    errors_->push_back(std::move(e));
  }

  // Calls fn(line_no, trimmed line) for each non-comment, non-blank line; reports invalid UTF-8.
  template <typename Fn>
  void Lines(std::string_view text, Fn fn) {
    uint32_t line_no = 0;
    size_t pos = 0;
    while (pos < text.size() && !(budget_ != nullptr && budget_->exhausted)) {
      size_t nl = text.find('\n', pos);
      std::string_view raw = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
      ++line_no;
      pos = nl == std::string_view::npos ? text.size() : nl + 1;
      size_t bad = FindInvalidUtf8(raw);
      if (bad != std::string_view::npos) {
        Error(line_no, current_id_, absl::StrCat("invalid UTF-8 at column ", bad + 1));
        continue;
      }
      if (raw.find('\0') != std::string_view::npos) {
        Error(line_no, current_id_, "NUL byte in line");
        continue;
      }
      std::string_view line = Trim(raw);
      if (line.empty() || line[0] == '#') continue;
      fn(line_no, line);
    }
  }

  bool KnownCategory(std::string_view c) const {
    return IsBuiltinCategory(c) ||
           std::find(local_categories_.begin(), local_categories_.end(), c) !=
               local_categories_.end();
  }

  // Expands the word classes of each term of a term list (class members stay as written).
  // Reports empty terms and unknown classes.
  bool Expand(uint32_t line, std::string_view value, std::string_view what,
              std::vector<std::string>* out) {
    bool ok = true;
    for (const std::string& t : SplitTerms(value)) {
      if (t.empty()) {
        Error(line, current_id_, absl::StrCat("empty ", std::string(what)));
        ok = false;
        continue;
      }
      std::string bad = ExpandClasses(t, *grammar_, out);
      if (!bad.empty()) {
        if (bad != last_expand_error_ || line != last_expand_line_) Error(line, current_id_, bad);
        last_expand_error_ = bad;
        last_expand_line_ = line;
        ok = false;
      }
    }
    return ok;
  }

  // Expands and normalises context terms; reports terms that normalise to nothing.
  bool AddTerms(uint32_t line, std::string_view value, std::vector<std::string>* out,
                bool normalise, std::string_view what) {
    std::vector<std::string> expanded;
    bool ok = Expand(line, value, what, &expanded);
    for (const std::string& t : expanded) {
      std::string n = normalise ? norm_.Normalize(t) : t;
      if (n.empty()) {
        // An optional class ({x?}) may expand to nothing; that expansion is simply not a term.
        // The base grammar is read with whatever normalisation options the filter has: a term
        // they turn into noise is left out, not an error the user cannot fix.
        if (t.empty() || builtin_) continue;
        Error(line, current_id_,
              absl::StrCat(std::string(what), " '", t,
                           "' normalises to nothing (only noise characters)"));
        ok = false;
        continue;
      }
      if (std::find(out->begin(), out->end(), n) == out->end()) out->push_back(std::move(n));
    }
    return ok;
  }

  // "N | terms" or "terms": the leading window of unless-before/unless-after.
  bool WindowedStatement(uint32_t line, std::string_view value, std::vector<WindowedTerms>* out,
                         std::string_view what) {
    WindowedTerms w;
    w.window = window_set_ ? result_->rules.back().rule.window : default_window_;
    std::string_view key, rest;
    SplitKey(value, &key, &rest);
    if (!key.empty() && key.find_first_not_of("0123456789") == std::string_view::npos) {
      if (!ParseWindow(key, &w.window)) {
        Error(line, current_id_, absl::StrCat(std::string(what), ": window must be 1 to 64"));
        return false;
      }
      value = rest;
      // `unless-before 12 sentence | …`: the window crosses clause breaks.
      std::string_view word, after;
      SplitKey(value, &word, &after);
      if (word == "sentence" || word == "clause") {
        w.sentence = word == "sentence";
        value = after;
      }
      if (!value.empty() && value[0] == '|') value = Trim(value.substr(1));
    }
    bool ok = AddTerms(line, value, &w.terms, true, what);
    out->push_back(std::move(w));
    return ok;
  }

  void FinishRule() {
    if (!in_rule_) return;
    in_rule_ = false;
    ParsedRule& pr = result_->rules.back();
    Rule& r = pr.rule;
    if (!category_set_) {
      if (default_category_.empty()) {
        Error(r.line, r.id, "no category (give 'category' or '%default category')");
      } else {
        r.category = default_category_;
      }
    }
    if (!severity_set_) {
      if (!default_severity_set_) {
        Error(r.line, r.id, "no severity (give 'severity' or '%default severity')");
      } else {
        r.severity = default_severity_;
      }
    }
    if (!window_set_) r.window = default_window_;
    if (!pr.boundary_set && default_boundary_set_) {
      r.boundary = default_boundary_;
      pr.boundary_set = true;
    }
    if (!scope_set_) r.scope = default_scope_;
    if (!speech_acts_set_) r.speech_acts = default_speech_acts_;
    const std::vector<std::string>& variants = variants_set_ ? rule_variants_ : default_variants_;
    if (!variants.empty()) {
      // Variants of the literals (not of regexes) and of the companions.
      std::vector<std::string> more;
      for (const std::string& l : r.literals) {
        std::string bad = AddVariants(norm_.Normalize(l), variants, *grammar_, norm_, &more);
        if (!bad.empty()) {
          Error(r.line, r.id, bad);
          break;
        }
      }
      r.literals.insert(r.literals.end(), more.begin(), more.end());
      for (Companions& group : r.with) {
        std::vector<std::string> extra;
        for (const std::string& t : group.terms)
          (void)AddVariants(t, variants, *grammar_, norm_, &extra);
        group.terms.insert(group.terms.end(), extra.begin(), extra.end());
      }
    }
    // The same pattern twice (a class member that is also a variant) is compiled once.
    {
      std::vector<std::string> unique;
      std::set<std::string> seen;
      for (std::string& l : r.literals)
        if (seen.insert(norm_.Normalize(l)).second) unique.push_back(std::move(l));
      r.literals.swap(unique);
      for (Companions& group : r.with) {
        std::set<std::string> in_group;
        std::vector<std::string> kept;
        for (std::string& t : group.terms)
          if (in_group.insert(t).second) kept.push_back(std::move(t));
        group.terms.swap(kept);
      }
    }
    if (r.literals.empty() && r.regexes.empty())
      Error(r.line, r.id, "rule has no pattern (give 'literal' or 'regex')");
    if (r.reason.empty()) Error(r.line, r.id, "rule has no reason");
    Count(r);
  }

  // Counts a finished rule against the budget; past a bound, reports it and stops parsing.
  void Count(const Rule& r) {
    if (budget_ == nullptr || budget_->exhausted || budget_->limits.max_literals == 0) return;
    for (const std::string& d : budget_->disabled)
      if (d == r.id || d == r.category) return;
    budget_->literals += r.literals.size();
    if (budget_->literals > budget_->limits.max_literals) {
      errors_->push_back(LiteralBoundError(r, budget_->limits));
      budget_->exhausted = true;
    }
  }

  void ParseRules(std::string_view text) {
    bool seen_format = false;
    Lines(text, [&](uint32_t ln, std::string_view line) {
      std::string_view key, value;
      SplitKey(line, &key, &value);
      if (key[0] == '%') {
        if (!seen_format) {
          seen_format = true;  // validated in Run()
          return;
        }
        if (saw_rule_) return Error(ln, "", absl::StrCat("directive '", std::string(key), "' after the first rule"));
        return Directive(ln, key, value, /*term_list=*/false);
      }
      if (key == "rule") {
        FinishRule();
        saw_rule_ = true;
        in_rule_ = true;
        category_set_ = severity_set_ = window_set_ = false;
        scope_set_ = speech_acts_set_ = variants_set_ = false;
        rule_variants_.clear();
        current_id_ = std::string(value);
        result_->rules.emplace_back();
        Rule& r = result_->rules.back().rule;
        r.id = std::string(value);
        r.file = source_.path;
        r.line = ln;
        if (!ValidId(value))
          Error(ln, "", absl::StrCat("invalid rule id '", std::string(value),
                                     "' (use [a-z0-9_.-], at most 64 bytes)"));
        return;
      }
      if (!in_rule_)
        return Error(ln, "", absl::StrCat("'", std::string(key), "' outside a rule (start one with 'rule ID')"));
      Statement(ln, key, value);
    });
    FinishRule();
    if (!seen_format) Error(1, "", "missing '%format scriptqa-rules 1'");
  }

  void Directive(uint32_t ln, std::string_view key, std::string_view value, bool term_list) {
    if (key == "%format") return Error(ln, "", "duplicate %format");
    if (key == "%title" || key == "%source" || key == "%license") {
      if (value.empty()) Error(ln, "", absl::StrCat(std::string(key), " needs a value"));
      return;
    }
    if (key == "%category" && !term_list) {
      std::string_view id, desc;
      SplitKey(value, &id, &desc);
      if (!ValidId(id)) return Error(ln, "", absl::StrCat("invalid category id '", std::string(id), "'"));
      local_categories_.emplace_back(id);
      result_->declared_categories.emplace_back(id);
      return;
    }
    if (key == "%class" && !term_list) return ClassDirective(ln, value);
    if (key == "%variant" && !term_list) return VariantDirective(ln, value);
    if (key == "%speech-act" && !term_list) return SpeechActDirective(ln, value);
    if (key == "%default" && !term_list) {
      std::string_view k, v;
      SplitKey(value, &k, &v);
      if (k == "scope") {
        if (!ParseScope(v, &default_scope_))
          return Error(ln, "", "scope must be clause, sentence or message");
        return;
      }
      if (k == "speech-acts") {
        default_speech_acts_.clear();
        return (void)SpeechActNames(ln, v, &default_speech_acts_);
      }
      if (k == "variants") {
        default_variants_.clear();
        return (void)VariantNames(ln, v, &default_variants_);
      }
      if (k == "category") {
        if (!KnownCategory(v)) return Error(ln, "", absl::StrCat("unknown category '", std::string(v), "'"));
        default_category_ = std::string(v);
      } else if (k == "severity") {
        if (!ParseSeverity(v, &default_severity_))
          return Error(ln, "", absl::StrCat("unknown severity '", std::string(v), "' (block, review or advice)"));
        default_severity_set_ = true;
      } else if (k == "window") {
        if (!ParseWindow(v, &default_window_)) return Error(ln, "", "window must be 1 to 64");
      } else if (k == "boundary") {
        if (!ParseBoundary(v, &default_boundary_))
          return Error(ln, "", "boundary must be none, alpha, digit or alnum");
        default_boundary_set_ = true;
      } else {
        return Error(ln, "", absl::StrCat("unknown %default key '", std::string(k), "'"));
      }
      return;
    }
    if (term_list) {
      if (key == "%category") {
        if (!ValidId(value))
          return Error(ln, "", absl::StrCat("invalid category id '", std::string(value), "'"));
        default_category_ = std::string(value);  // a new category is declared by its list
        return;
      }
      if (key == "%severity") {
        if (!ParseSeverity(value, &default_severity_))
          return Error(ln, "", absl::StrCat("unknown severity '", std::string(value), "' (block, review or advice)"));
        default_severity_set_ = true;
        return;
      }
      if (key == "%reason") {
        list_reason_ = std::string(value);
        return;
      }
      if (key == "%suggest") {
        std::string bad = CheckTemplate(value);
        if (!bad.empty()) return Error(ln, "", bad);
        list_suggest_ = std::string(value);
        return;
      }
    }
    Error(ln, "", absl::StrCat("unknown directive '", std::string(key), "'"));
  }

  void Statement(uint32_t ln, std::string_view key, std::string_view value) {
    ParsedRule& pr = result_->rules.back();
    Rule& r = pr.rule;
    if (value.empty()) return Error(ln, r.id, absl::StrCat("'", std::string(key), "' needs a value"));
    if (key == "literal") {
      std::vector<std::string> expanded;
      Expand(ln, value, "literal", &expanded);
      for (const std::string& t : expanded) {
        if (t.empty()) continue;  // an optional class alone
        if (norm_.Normalize(t).empty()) {
          Error(ln, r.id, absl::StrCat("literal '", t, "' normalises to nothing (only noise characters)"));
          continue;
        }
        r.literals.push_back(t);
      }
    } else if (key == "regex") {
      std::string expanded;
      std::string bad = ExpandRegexClasses(value, *grammar_, norm_, &expanded);
      if (!bad.empty()) return Error(ln, r.id, bad);
      r.regexes.push_back(std::move(expanded));
    } else if (key == "with" || key == "with-before" || key == "with-after") {
      Companions group;
      group.side = key == "with" ? Side::kEither : key == "with-before" ? Side::kBefore : Side::kAfter;
      AddTerms(ln, value, &group.terms, true, "companion");
      if (!group.terms.empty()) r.with.push_back(std::move(group));
    } else if (key == "unless") {
      AddTerms(ln, value, &r.unless, true, "unless term");
    } else if (key == "unless-before") {
      WindowedStatement(ln, value, &r.unless_before, "unless-before term");
    } else if (key == "unless-after") {
      WindowedStatement(ln, value, &r.unless_after, "unless-after term");
    } else if (key == "within") {
      if (!ParseWindow(value, &r.within)) return Error(ln, r.id, "within must be 1 to 64");
    } else if (key == "reset-by") {
      AddTerms(ln, value, &r.reset_by, true, "reset-by term");
    } else if (key == "unless-masked") {
      // Single characters, separated by spaces: compared with the original text, not normalised
      // (masking characters are noise to the normaliser).
      for (absl::string_view am : absl::StrSplit(absl::string_view(value.data(), value.size()), ' ', absl::SkipEmpty())) {
        const std::string_view m(am.data(), am.size());
        if (!IsOneCodePoint(m)) return Error(ln, r.id, absl::StrCat("unless-masked takes single characters separated by spaces, not '", std::string(m), "'"));
        r.unless_masked.emplace_back(m);
      }
      if (r.unless_masked.empty()) return Error(ln, r.id, "unless-masked needs at least one character");
    } else if (key == "scope") {
      if (!ParseScope(value, &r.scope)) return Error(ln, r.id, "scope must be clause, sentence or message");
      scope_set_ = true;
    } else if (key == "speech-acts") {
      r.speech_acts.clear();
      SpeechActNames(ln, value, &r.speech_acts);
      speech_acts_set_ = true;
    } else if (key == "variants") {
      rule_variants_.clear();
      VariantNames(ln, value, &rule_variants_);
      variants_set_ = true;
    } else if (key == "category") {
      if (!KnownCategory(value)) return Error(ln, r.id, absl::StrCat("unknown category '", std::string(value), "'"));
      r.category = std::string(value);
      category_set_ = true;
    } else if (key == "severity") {
      if (!ParseSeverity(value, &r.severity))
        return Error(ln, r.id, absl::StrCat("unknown severity '", std::string(value), "' (block, review or advice)"));
      severity_set_ = true;
    } else if (key == "suggest") {
      std::string bad = CheckTemplate(value);
      if (!bad.empty()) return Error(ln, r.id, bad);
      r.suggestions.emplace_back(value);
    } else if (key == "reason") {
      if (!r.reason.empty()) return Error(ln, r.id, "duplicate reason");
      r.reason = std::string(value);
    } else if (key == "allow") {
      AddTerms(ln, value, &r.allow, true, "allow-context");
    } else if (key == "allow-before") {
      AddTerms(ln, value, &r.allow_before, true, "allow-before term");
    } else if (key == "allow-after") {
      AddTerms(ln, value, &r.allow_after, true, "allow-after term");
    } else if (key == "negate") {
      AddTerms(ln, value, &r.negate, true, "negation cue");
    } else if (key == "near") {
      AddTerms(ln, value, &r.near, true, "context term");
    } else if (key == "window") {
      if (!ParseWindow(value, &r.window)) return Error(ln, r.id, "window must be 1 to 64");
      window_set_ = true;
    } else if (key == "validate") {
      if (!ParseValidator(value, &r.validator))
        return Error(ln, r.id, absl::StrCat("unknown validator '", std::string(value),
                                            "' (cn_mobile, cn_id18, luhn, cn_landline)"));
    } else if (key == "boundary") {
      if (!ParseBoundary(value, &r.boundary))
        return Error(ln, r.id, "boundary must be none, alpha, digit or alnum");
      pr.boundary_set = true;
    } else if (key == "hit") {
      r.hit_examples.emplace_back(value);
    } else if (key == "miss") {
      r.miss_examples.emplace_back(value);
    } else {
      Error(ln, r.id, absl::StrCat("unknown key '", std::string(key), "'"));
    }
  }

  void ParseTerms(std::string_view text) {
    default_category_ = source_.category;
    if (!source_.category.empty()) {
      default_severity_ = source_.severity;
      default_severity_set_ = true;
    }
    const std::string stem = FileStem(source_.path);
    bool seen_format = false;
    Lines(text, [&](uint32_t ln, std::string_view line) {
      if (line[0] == '%' && !saw_rule_) {
        std::string_view key, value;
        SplitKey(line, &key, &value);
        if (key == "%format" && !seen_format) {
          seen_format = true;
          return;
        }
        return Directive(ln, key, value, /*term_list=*/true);
      }
      saw_rule_ = true;
      std::string_view term = line, suggestion;
      size_t tab = line.find('\t');
      if (tab != std::string_view::npos) {
        term = Trim(line.substr(0, tab));
        suggestion = Trim(line.substr(tab + 1));
      }
      std::string id = absl::StrCat(stem, ".", ln);
      current_id_ = id;
      if (default_category_.empty())
        return Error(ln, id, "term list without a category (give %category or a category to the loader)");
      if (!default_severity_set_)
        return Error(ln, id, "term list without a severity (give %severity)");
      if (!suggestion.empty()) {
        std::string bad = CheckTemplate(suggestion);
        if (!bad.empty()) return Error(ln, id, bad);
      }
      ParsedRule pr;
      Rule& r = pr.rule;
      r.id = id;
      r.category = default_category_;
      r.severity = default_severity_;
      r.reason = list_reason_.empty() ? absl::StrCat("术语表 ", stem) : list_reason_;
      r.literals.emplace_back(term);
      if (!suggestion.empty()) {
        r.suggestions.emplace_back(suggestion);
      } else if (!list_suggest_.empty()) {
        r.suggestions.push_back(list_suggest_);
      }
      r.file = source_.path;
      r.line = ln;
      Count(r);
      if (budget_ == nullptr || !budget_->exhausted) result_->rules.push_back(std::move(pr));
    });
    if (!default_category_.empty() && !IsBuiltinCategory(default_category_) &&
        std::find(result_->declared_categories.begin(), result_->declared_categories.end(),
                  default_category_) == result_->declared_categories.end())
      result_->declared_categories.push_back(default_category_);
  }

  // %class NAME [variants TABLE...] = terms: a word class; its members may use classes defined
  // before. With variants, each member's variants (normalised) join the class.
  void ClassDirective(uint32_t ln, std::string_view value) {
    size_t eq = value.find('=');
    std::string_view head = Trim(value.substr(0, eq == std::string_view::npos ? value.size() : eq));
    std::string_view name_view, options;
    SplitKey(head, &name_view, &options);
    std::string name(name_view);
    if (eq == std::string_view::npos || name.empty())
      return Error(ln, "", "expected '%class NAME [variants TABLE ...] = term | term ...'");
    std::vector<std::string> tables;
    if (!options.empty()) {
      std::string_view kw, rest;
      SplitKey(options, &kw, &rest);
      if (kw != "variants" || rest.empty())
        return Error(ln, "", "expected '%class NAME [variants TABLE ...] = term | term ...'");
      if (!VariantNames(ln, rest, &tables)) return;
    }
    if (name.find_first_of("{}|\\? \t") != std::string::npos || (name[0] >= '0' && name[0] <= '9'))
      return Error(ln, "", absl::StrCat("invalid class name '", name,
                                        "' (no braces, bars, blanks or '?'; not starting with a digit)"));
    if (auto it = grammar_->classes.find(name); it != grammar_->classes.end())
      return Error(ln, "", absl::StrCat("word class '", name, "' is already defined at ",
                                        it->second.where));
    Grammar::Class c;
    c.where = absl::StrCat(source_.path, ":", ln);
    if (!Expand(ln, value.substr(eq + 1), "class member", &c.members)) return;
    c.members.erase(std::remove(c.members.begin(), c.members.end(), std::string()), c.members.end());
    if (c.members.empty()) return Error(ln, "", absl::StrCat("word class '", name, "' is empty"));
    if (!tables.empty()) {
      std::vector<std::string> more;
      for (const std::string& m : c.members) {
        std::string bad = AddVariants(norm_.Normalize(m), tables, *grammar_, norm_, &more);
        if (!bad.empty()) return Error(ln, "", bad);
      }
      std::set<std::string> have(c.members.begin(), c.members.end());
      for (std::string& v : more)
        if (have.insert(v).second) c.members.push_back(std::move(v));
    }
    grammar_->classes.emplace(std::move(name), std::move(c));
  }

  // %variant TABLE TEXT = alternatives: entries of a variant table.
  void VariantDirective(uint32_t ln, std::string_view value) {
    size_t eq = value.find('=');
    std::string_view head = Trim(value.substr(0, eq == std::string_view::npos ? value.size() : eq));
    std::string_view table, from;
    SplitKey(head, &table, &from);
    if (eq == std::string_view::npos || table.empty() || from.empty())
      return Error(ln, "", "expected '%variant TABLE TEXT = variant | variant ...'");
    if (table == "pinyin") return Error(ln, "", "the pinyin table is built in");
    std::string key = norm_.Normalize(from);
    if (key.empty()) {
      if (builtin_) return;
      return Error(ln, "", absl::StrCat("variant text '", std::string(from), "' normalises to nothing"));
    }
    std::vector<std::string> alts;
    if (!AddTerms(ln, value.substr(eq + 1), &alts, true, "variant")) return;
    std::vector<std::string>& entry = grammar_->variants[std::string(table)][key];
    for (std::string& a : alts)
      if (a != key && std::find(entry.begin(), entry.end(), a) == entry.end()) entry.push_back(std::move(a));
  }

  // %speech-act NAME pseudo = terms
  // %speech-act NAME before|after|around|quote clause|sentence [WINDOW] [question] = terms
  void SpeechActDirective(uint32_t ln, std::string_view value) {
    size_t eq = value.find('=');
    std::string_view head = Trim(value.substr(0, eq == std::string_view::npos ? value.size() : eq));
    std::vector<std::string_view> words;
    while (!head.empty()) {
      std::string_view w, rest;
      SplitKey(head, &w, &rest);
      words.push_back(w);
      head = rest;
    }
    const char* usage =
        "expected '%speech-act NAME before|after|around|quote|path clause|sentence [WINDOW] [question] = "
        "cues' or '%speech-act NAME pseudo = terms'";
    if (eq == std::string_view::npos || words.size() < 2) return Error(ln, "", usage);
    if (!ValidId(words[0])) return Error(ln, "", absl::StrCat("invalid speech act name '", std::string(words[0]), "'"));
    SpeechAct* act = grammar_->FindSpeechAct(words[0]);
    if (act == nullptr) {
      grammar_->speech_acts.emplace_back();
      act = &grammar_->speech_acts.back();
      act->name = std::string(words[0]);
    }
    if (words[1] == "pseudo") {
      if (words.size() != 2) return Error(ln, "", usage);
      AddTerms(ln, value.substr(eq + 1), &act->pseudo, true, "pseudo-cue");
      return;
    }
    SpeechAct::Cues cues;
    if (words[1] == "before") cues.where = CueWhere::kBefore;
    else if (words[1] == "after") cues.where = CueWhere::kAfter;
    else if (words[1] == "around") cues.where = CueWhere::kAround;
    else if (words[1] == "quote") cues.where = CueWhere::kQuote;
    else if (words[1] == "path") cues.where = CueWhere::kPath;
    else if (words[1] == "title") cues.where = CueWhere::kTitle;
    else return Error(ln, "", usage);
    if (words.size() < 3 || !ParseScope(words[2], &cues.scope) || cues.scope == Scope::kMessage)
      return Error(ln, "", usage);
    for (size_t i = 3; i < words.size(); ++i) {
      if (words[i] == "question") {
        cues.question = true;
      } else if (!ParseWindow(words[i], &cues.window)) {
        return Error(ln, "", usage);
      }
    }
    const std::string cue_text(Trim(std::string_view(value).substr(eq + 1)));
    const bool no_cues = cues.where == CueWhere::kPath || cues.where == CueWhere::kTitle;
    if (!(no_cues && cue_text.empty())) AddTerms(ln, cue_text, &cues.terms, true, "cue");
    // Longest first: Explain names the longest cue ("没法", not "没").
    std::stable_sort(cues.terms.begin(), cues.terms.end(),
                     [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    if (cues.where == CueWhere::kPath && !cues.terms.empty())
      return Error(ln, "", "a path speech act takes no cues (the separators are its cue)");
    if (cues.where == CueWhere::kTitle && !cues.terms.empty())
      return Error(ln, "", "a title speech act takes no cues (the title marks are its cue)");
    if (cues.terms.empty() && cues.where != CueWhere::kQuote && !no_cues)
      return Error(ln, "", "a speech act's cue group needs at least one cue");
    act->cues.push_back(std::move(cues));
  }

  bool SpeechActNames(uint32_t ln, std::string_view value, std::vector<std::string>* out) {
    if (value == "none") return true;
    bool ok = true;
    while (!value.empty()) {
      std::string_view w, rest;
      SplitKey(value, &w, &rest);
      if (grammar_->FindSpeechAct(w) == nullptr) {
        Error(ln, current_id_, absl::StrCat("unknown speech act '", std::string(w),
                                            "' (defined ones come from %speech-act)"));
        ok = false;
      } else {
        out->emplace_back(w);
      }
      value = rest;
    }
    return ok;
  }

  bool VariantNames(uint32_t ln, std::string_view value, std::vector<std::string>* out) {
    if (value == "none") return true;
    bool ok = true;
    while (!value.empty()) {
      std::string_view w, rest;
      SplitKey(value, &w, &rest);
      if (w != "pinyin" && grammar_->variants.find(std::string(w)) == grammar_->variants.end()) {
        Error(ln, current_id_, absl::StrCat("unknown variant table '", std::string(w),
                                            "' (define it with %variant, or use pinyin)"));
        ok = false;
      } else {
        out->emplace_back(w);
      }
      value = rest;
    }
    return ok;
  }

  const DictionarySource& source_;
  const Normalizer& norm_;
  Grammar* grammar_;
  ParseResult* result_;
  std::vector<std::string>* errors_;
  ParseBudget* budget_;
  bool builtin_ = false;  // the base grammar compiled into the library
  std::string last_expand_error_;  // one report per line for a problem repeated by its terms
  uint32_t last_expand_line_ = 0;
  uint32_t first_line_ = 0;
  bool saw_rule_ = false, in_rule_ = false;
  bool category_set_ = false, severity_set_ = false, window_set_ = false;
  bool scope_set_ = false, speech_acts_set_ = false, variants_set_ = false;
  Scope default_scope_ = Scope::kSentence;
  std::vector<std::string> default_speech_acts_, default_variants_, rule_variants_;
  std::string current_id_;
  std::vector<std::string> local_categories_;
  std::string default_category_;
  Severity default_severity_ = Severity::kReview;
  bool default_severity_set_ = false;
  uint32_t default_window_ = 8;
  Boundary default_boundary_ = Boundary::kNone;
  bool default_boundary_set_ = false;
  std::string list_reason_, list_suggest_;
};

}  // namespace

std::string CheckTemplate(std::string_view t) {
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '}') {
      if (i + 1 < t.size() && t[i + 1] == '}') {
        ++i;
        continue;
      }
      return "unmatched '}' in suggestion (write '}}' for a literal brace)";
    }
    if (t[i] != '{') continue;
    if (i + 1 < t.size() && t[i + 1] == '{') {
      ++i;
      continue;
    }
    size_t close = t.find('}', i);
    if (close == std::string_view::npos) return "unterminated '{' in suggestion";
    std::string_view name = t.substr(i + 1, close - i - 1);
    bool ok = name == "match" || name == "masked";
    if (!ok && name.size() == 10 && name.substr(0, 7) == "masked:" &&
        std::isdigit(static_cast<unsigned char>(name[7])) && name[8] == ':' &&
        std::isdigit(static_cast<unsigned char>(name[9])))
      ok = true;
    if (!ok)
      return absl::StrCat("unknown placeholder '{", std::string(name),
                          "}' in suggestion (use {match}, {masked} or {masked:K:L})");
    i = close;
  }
  return "";
}

std::string LiteralBoundError(const Rule& rule, const CompileLimits& limits) {
  std::string line = absl::StrCat(
      rule.file, ":", rule.line, ": rule ", rule.id, ": more than ", limits.max_literals,
      " literals in the dictionaries (the compile-time bound FilterOptions::limits.max_literals); "
      "this is the first past it");
  if (!limits.raise_hint.empty())
    absl::StrAppend(&line, "; ", absl::StrReplaceAll(limits.raise_hint, {{"{name}", "max_literals"}}));
  return line;
}

void ParseDictionary(const DictionarySource& source, const std::string& text,
                     const Normalizer& normalizer, Grammar* grammar, ParseResult* result,
                     std::vector<std::string>* errors, ParseBudget* budget) {
  if (budget != nullptr && budget->exhausted) return;
  Parser(source, normalizer, grammar, result, errors, budget).Run(text);
}

}  // namespace scriptqa::internal
