#include "dictionary.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
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
  Parser(const DictionarySource& source, const Normalizer& normalizer, ParseResult* result,
         std::vector<std::string>* errors, ParseBudget* budget)
      : source_(source), norm_(normalizer), result_(result), errors_(errors), budget_(budget) {}

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

  // Normalises a context term; reports terms that normalise to nothing.
  bool AddTerms(uint32_t line, std::string_view value, std::vector<std::string>* out,
                bool normalise, std::string_view what) {
    bool ok = true;
    for (const std::string& t : SplitTerms(value)) {
      if (t.empty()) {
        Error(line, current_id_, absl::StrCat("empty ", std::string(what)));
        ok = false;
        continue;
      }
      std::string n = normalise ? norm_.Normalize(t) : t;
      if (n.empty()) {
        Error(line, current_id_,
              absl::StrCat(std::string(what), " '", t,
                           "' normalises to nothing (only noise characters)"));
        ok = false;
        continue;
      }
      out->push_back(std::move(n));
    }
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
    if (key == "%default" && !term_list) {
      std::string_view k, v;
      SplitKey(value, &k, &v);
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
      for (const std::string& t : SplitTerms(value)) {
        if (t.empty()) {
          Error(ln, r.id, "empty literal");
          continue;
        }
        if (norm_.Normalize(t).empty()) {
          Error(ln, r.id, absl::StrCat("literal '", t, "' normalises to nothing (only noise characters)"));
          continue;
        }
        r.literals.push_back(t);
      }
    } else if (key == "regex") {
      r.regexes.emplace_back(value);
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

  const DictionarySource& source_;
  const Normalizer& norm_;
  ParseResult* result_;
  std::vector<std::string>* errors_;
  ParseBudget* budget_;
  uint32_t first_line_ = 0;
  bool saw_rule_ = false, in_rule_ = false;
  bool category_set_ = false, severity_set_ = false, window_set_ = false;
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
                     const Normalizer& normalizer, ParseResult* result,
                     std::vector<std::string>* errors, ParseBudget* budget) {
  if (budget != nullptr && budget->exhausted) return;
  Parser(source, normalizer, result, errors, budget).Run(text);
}

}  // namespace scriptqa::internal
