#include "grammar.h"

#include <algorithm>
#include <cstdint>
#include <set>

#include "absl/strings/str_cat.h"
#include "pinyin.inc"
#include "utf8.h"

namespace scriptqa::internal {

namespace {

// A class reference at term[i] == '{': sets *name, *optional and *end (one past '}'). False when
// it is not one (a counted repetition {2,3}, or no closing brace).
bool ClassRef(std::string_view s, size_t i, std::string_view* name, bool* optional, size_t* end) {
  size_t close = s.find('}', i + 1);
  if (close == std::string_view::npos || close == i + 1) return false;
  std::string_view n = s.substr(i + 1, close - i - 1);
  if ((n[0] >= '0' && n[0] <= '9') || n[0] == ',') return false;  // a regex repetition
  if (n.find_first_of("{|\\ \t") != std::string_view::npos) return false;
  *optional = n.back() == '?';
  if (*optional) n.remove_suffix(1);
  if (n.empty()) return false;
  *name = n;
  *end = close + 1;
  return true;
}

std::string EscapeRegex(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\^$.|?*+()[]{}/").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// Code points of a (valid UTF-8) string, with their byte offsets.
std::vector<std::pair<uint32_t, size_t>> Chars(std::string_view s) {
  std::vector<std::pair<uint32_t, size_t>> out;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = 0; i < s.size();) {
    int len;
    uint32_t cp = DecodeUtf8(p + i, p + s.size(), &len);
    out.push_back({cp, i});
    i += static_cast<size_t>(len);
  }
  return out;
}

}  // namespace

const SpeechAct* Grammar::FindSpeechAct(std::string_view name) const {
  for (const SpeechAct& a : speech_acts)
    if (a.name == name) return &a;
  return nullptr;
}

SpeechAct* Grammar::FindSpeechAct(std::string_view name) {
  for (SpeechAct& a : speech_acts)
    if (a.name == name) return &a;
  return nullptr;
}

std::string_view Pinyin(uint32_t cp, bool toned) {
  if (cp < pinyindata::kFirst || cp > pinyindata::kLast) return {};
  const uint32_t at = pinyindata::kIndex[cp - pinyindata::kFirst];
  if (at == UINT32_MAX) return {};
  std::string_view plain(pinyindata::kPool + at);
  if (!toned) return plain;
  return std::string_view(pinyindata::kPool + at + plain.size() + 1);
}

std::string ExpandClasses(std::string_view term, const Grammar& grammar,
                          std::vector<std::string>* out) {
  // Partial expansions so far; each reference multiplies them.
  std::vector<std::string> partial{""};
  size_t lit_start = 0;
  auto add_literal = [&](std::string_view lit) {
    if (lit.empty()) return;
    for (std::string& p : partial) p += lit;
  };
  std::string pending;  // literal text since the last reference, unescaped
  for (size_t i = 0; i < term.size();) {
    if (term[i] == '\\' && i + 1 < term.size() && (term[i + 1] == '{' || term[i + 1] == '}')) {
      pending += term[i + 1];
      i += 2;
      continue;
    }
    std::string_view name;
    bool optional = false;
    size_t end = 0;
    if (term[i] == '{' && ClassRef(term, i, &name, &optional, &end)) {
      add_literal(pending);
      pending.clear();
      auto it = grammar.classes.find(std::string(name));
      if (it == grammar.classes.end())
        return absl::StrCat("unknown word class '{", std::string(name),
                            "}' (define it with %class before its first use)");
      const std::vector<std::string>& members = it->second.members;
      const size_t n = members.size() + (optional ? 1 : 0);
      if (partial.size() * n > kMaxExpansions)
        return absl::StrCat("'", std::string(term), "' expands to more than ", kMaxExpansions,
                            " terms");
      std::vector<std::string> next;
      next.reserve(partial.size() * n);
      for (const std::string& p : partial) {
        if (optional) next.push_back(p);
        for (const std::string& m : members) next.push_back(p + m);
      }
      partial.swap(next);
      i = end;
      continue;
    }
    // A Chinese (non-ASCII) character followed by '?' is optional: 不关{我们}的?事 is 不关我们事
    // and 不关我们的事. ('?' after anything else stays as written; the normaliser drops it.)
    if (term[i] == '?' && !pending.empty() && (static_cast<unsigned char>(pending.back()) & 0x80)) {
      size_t b = pending.size() - 1;
      while (b > 0 && (static_cast<unsigned char>(pending[b]) & 0xC0) == 0x80) --b;
      const std::string optional_char = pending.substr(b);
      pending.resize(b);
      add_literal(pending);
      pending.clear();
      if (partial.size() * 2 > kMaxExpansions)
        return absl::StrCat("'", std::string(term), "' expands to more than ", kMaxExpansions,
                            " terms");
      const size_t n = partial.size();
      for (size_t k = 0; k < n; ++k) partial.push_back(partial[k] + optional_char);
      ++i;
      continue;
    }
    pending += term[i];
    ++i;
  }
  (void)lit_start;
  add_literal(pending);
  std::set<std::string> seen;
  for (std::string& p : partial)
    if (seen.insert(p).second) out->push_back(std::move(p));
  return "";
}

std::string ExpandRegexClasses(std::string_view re, const Grammar& grammar,
                               const Normalizer& normalizer, std::string* out) {
  out->clear();
  for (size_t i = 0; i < re.size();) {
    if (re[i] == '\\' && i + 1 < re.size()) {
      out->append(re.substr(i, 2));
      i += 2;
      continue;
    }
    std::string_view name;
    bool optional = false;
    size_t end = 0;
    if (re[i] == '{' && ClassRef(re, i, &name, &optional, &end)) {
      auto it = grammar.classes.find(std::string(name));
      if (it == grammar.classes.end())
        return absl::StrCat("unknown word class '{", std::string(name),
                            "}' (define it with %class before its first use)");
      std::set<std::string> alts;
      for (const std::string& m : it->second.members) {
        std::string n = normalizer.Normalize(m);
        if (!n.empty()) alts.insert(EscapeRegex(n));
      }
      // Longest first, so that the leftmost match is also the longest where it matters.
      std::vector<std::string> sorted(alts.begin(), alts.end());
      std::stable_sort(sorted.begin(), sorted.end(),
                       [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
      *out += "(?:";
      for (size_t k = 0; k < sorted.size(); ++k) {
        if (k) *out += '|';
        *out += sorted[k];
      }
      *out += optional ? ")?" : ")";
      i = end;
      continue;
    }
    *out += re[i];
    ++i;
  }
  return "";
}

std::string AddVariants(const std::string& term, const std::vector<std::string>& tables,
                        const Grammar& grammar, const Normalizer& normalizer,
                        std::vector<std::string>* out) {
  std::set<std::string> found;
  auto add = [&](std::string v) {
    if (found.size() >= kMaxVariants) return;
    std::string n = normalizer.Normalize(v);
    if (!n.empty() && n != term) found.insert(std::move(n));
  };
  const auto chars = Chars(term);
  for (const std::string& table : tables) {
    if (table == "pinyin") {
      std::vector<std::string_view> plain, toned;
      bool all = true;
      for (const auto& [cp, at] : chars) {
        plain.push_back(Pinyin(cp, false));
        toned.push_back(Pinyin(cp, true));
        all = all && !plain.back().empty();
      }
      auto piece = [&](size_t k) {
        const size_t b = chars[k].second;
        const size_t e = k + 1 < chars.size() ? chars[k + 1].second : term.size();
        return std::string_view(term).substr(b, e - b);
      };
      if (all) {
        std::string p, t;
        for (size_t k = 0; k < chars.size(); ++k) {
          p += plain[k];
          t += toned[k];
        }
        add(p);
        add(t);
      }
      // Mixes of characters and syllables (zui好用, 最hao用), for short terms.
      if (chars.size() >= 2 && chars.size() <= 4) {
        const uint32_t masks = 1u << chars.size();
        for (uint32_t m = 1; m + 1 < masks; ++m) {
          std::string v;
          bool ok = true;
          for (size_t k = 0; k < chars.size() && ok; ++k) {
            if (m & (1u << k)) {
              ok = !plain[k].empty();
              v += plain[k];
            } else {
              v += piece(k);
            }
          }
          if (ok) add(v);
        }
      }
      continue;
    }
    auto it = grammar.variants.find(table);
    if (it == grammar.variants.end())
      return absl::StrCat("unknown variant table '", table, "' (define it with %variant, or use "
                          "pinyin)");
    // Every place an entry of the table matches, then every choice of one or two of them that do
    // not overlap.
    struct Sub {
      size_t b, e;
      const std::vector<std::string>* alts;
    };
    std::vector<Sub> subs;
    for (const auto& [from, alts] : it->second) {
      for (size_t pos = term.find(from); pos != std::string::npos; pos = term.find(from, pos + 1))
        subs.push_back({pos, pos + from.size(), &alts});
    }
    std::sort(subs.begin(), subs.end(), [](const Sub& a, const Sub& b) { return a.b < b.b; });
    for (size_t a = 0; a < subs.size(); ++a) {
      for (const std::string& x : *subs[a].alts) {
        add(term.substr(0, subs[a].b) + x + term.substr(subs[a].e));
        for (size_t b = a + 1; b < subs.size(); ++b) {
          if (subs[b].b < subs[a].e) continue;
          for (const std::string& y : *subs[b].alts)
            add(term.substr(0, subs[a].b) + x + term.substr(subs[a].e, subs[b].b - subs[a].e) + y +
                term.substr(subs[b].e));
        }
      }
    }
  }
  for (const std::string& v : found) out->push_back(v);
  return "";
}

}  // namespace scriptqa::internal
