#include "resolve.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "utf8.h"
#include "validators.h"

namespace scriptqa::internal {

namespace {

bool IsAsciiAlpha(uint32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiDigit(uint32_t c) { return c >= '0' && c <= '9'; }

size_t MaxSize(const std::vector<std::string>& terms) {
  size_t m = 0;
  for (const std::string& t : terms) m = std::max(m, t.size());
  return m;
}

}  // namespace

uint32_t CpBefore(std::string_view s, size_t pos) {
  if (pos == 0) return kInvalidCp;
  size_t b = pos - 1;
  while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
  int len;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  return DecodeUtf8(p + b, p + pos, &len);
}

uint32_t CpAt(std::string_view s, size_t pos) {
  if (pos >= s.size()) return kInvalidCp;
  int len;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  return DecodeUtf8(p + pos, p + s.size(), &len);
}

size_t BackChars(std::string_view s, size_t pos, uint32_t n) {
  while (n > 0 && pos > 0) {
    --pos;
    while (pos > 0 && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) --pos;
    --n;
  }
  return pos;
}

size_t ForwardChars(std::string_view s, size_t pos, uint32_t n, uint32_t* missing) {
  while (n > 0 && pos < s.size()) {
    ++pos;
    while (pos < s.size() && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) ++pos;
    --n;
  }
  if (missing) *missing = n;
  return pos;
}

const std::string* Covering(std::string_view s, const std::vector<std::string>& terms, size_t nb,
                            size_t ne) {
  // An occurrence of t covers [nb, ne) when it starts in [ne - |t|, nb], so it lies inside
  // s[ne - |t|, nb + |t|). Searching only that window bounds the cost per hit by the terms'
  // length: searching on to the end of the message made n hits cost O(n²).
  for (const std::string& t : terms) {
    if (t.size() < ne - nb) continue;
    const size_t lo = ne >= t.size() ? ne - t.size() : 0;
    const size_t hi = std::min(s.size(), nb + t.size());
    if (hi < lo + t.size()) continue;
    if (s.substr(lo, hi - lo).find(t) != std::string_view::npos) return &t;
  }
  return nullptr;
}

const std::string* Inside(std::string_view s, const std::vector<std::string>& terms, size_t lo,
                          size_t hi) {
  if (hi <= lo) return nullptr;
  std::string_view w = s.substr(lo, hi - lo);
  for (const std::string& t : terms)
    if (w.find(t) != std::string_view::npos) return &t;
  return nullptr;
}

Confirmation Confirm(const FilterImpl& f, const ProfileImpl* profile, const ScanOptions& options,
                     std::string_view s, const OffsetMap& map, const RawHit& h, bool complete,
                     std::string* detail) {
  const std::vector<uint32_t>& clause_breaks = map.clause_breaks;
  // An ASCII letter next to the hit only counts when nothing was skipped between them in the
  // original: "加vx：abc123" is a contact ID after "加vx", "rvxa" is a word containing "vx".
  // (Digits join across skipped separators on purpose: "138 1234 5678" is one number.)
  auto adjacent_at = [&](size_t pos) {
    return pos == 0 || pos >= map.src_begin.size() || map.src_end[pos - 1] == map.src_begin[pos];
  };
  auto letter_before = [&](size_t pos) { return adjacent_at(pos) && IsAsciiAlpha(CpBefore(s, pos)); };
  auto letter_at = [&](size_t pos) { return adjacent_at(pos) && IsAsciiAlpha(CpAt(s, pos)); };
  const bool deny = h.rule == kDenyRule;
  const Rule& r = deny ? profile->deny_rule : f.rules[h.rule];
  Confirmation c;
  c.severity = r.severity;
  Decision& d = c.decision;
  auto set = [&](Decision dd, auto&& why) {
    if (d == Decision::kReported) {
      d = dd;
      if (detail) *detail = why();
    }
  };
  // With a prefix of the message, the character after the hit may not be known yet.
  const bool after_known = complete || h.ne < s.size();

  if (!deny && profile) {
    if (!profile->enabled[h.rule]) set(Decision::kDisabled, [] { return "disabled by the profile"; });
    if (profile->severity[h.rule] >= 0) c.severity = static_cast<Severity>(profile->severity[h.rule]);
  }
  if (d == Decision::kReported && r.boundary != Boundary::kNone) {
    bool alpha = r.boundary == Boundary::kAlpha || r.boundary == Boundary::kAlnum;
    bool digit = r.boundary == Boundary::kDigit || r.boundary == Boundary::kAlnum;
    const bool before = (alpha && letter_before(h.nb)) || (digit && IsAsciiDigit(CpBefore(s, h.nb)));
    const bool after =
        after_known && ((alpha && letter_at(h.ne)) || (digit && IsAsciiDigit(CpAt(s, h.ne))));
    if (before || after) {
      set(Decision::kBoundary, [] { return "touches an ASCII letter or digit"; });
    } else if (!after_known) {
      c.pending = true;
    }
  }
  if (d == Decision::kReported && h.edges != 0) {
    if (((h.edges & kEdgeLeft) && letter_before(h.nb)) ||
        (after_known && (h.edges & kEdgeRight) && letter_at(h.ne))) {
      set(Decision::kBoundary, [] { return "touches an ASCII letter"; });
    } else if (!after_known && (h.edges & kEdgeRight)) {
      c.pending = true;
    }
  }
  if (d == Decision::kReported && !r.allow.empty()) {
    if (const std::string* a = Covering(s, r.allow, h.nb, h.ne)) {
      set(Decision::kAllowContext, [&] { return absl::StrCat("inside allow-context '", *a, "'"); });
    } else if (!complete && h.nb + MaxSize(r.allow) > s.size()) {
      c.pending = true;  // an allow-context starting at or before the hit may still complete
    }
  }
  if (d == Decision::kReported && !r.allow_after.empty()) {
    for (const std::string& t : r.allow_after) {
      if (h.ne + t.size() <= s.size() && s.substr(h.ne, t.size()) == t) {
        set(Decision::kAllowContext, [&] { return absl::StrCat("followed by allow-after '", t, "'"); });
        break;
      }
    }
    if (d == Decision::kReported && !complete && h.ne + MaxSize(r.allow_after) > s.size())
      c.pending = true;  // the text that could follow the hit has not arrived yet
  }
  if (d == Decision::kReported && !r.allow_before.empty()) {
    for (const std::string& t : r.allow_before) {
      if (h.nb >= t.size() && s.substr(h.nb - t.size(), t.size()) == t) {
        set(Decision::kAllowContext, [&] { return absl::StrCat("preceded by allow-before '", t, "'"); });
        break;
      }
    }
  }
  if (d == Decision::kReported && !r.negate.empty()) {
    // Only text before the hit matters, and clause breaks at or before its start are final.
    size_t lo = BackChars(s, h.nb, r.window);
    auto it = std::upper_bound(clause_breaks.begin(), clause_breaks.end(), h.nb);
    if (it != clause_breaks.begin()) lo = std::max<size_t>(lo, *(it - 1));
    if (const std::string* cue = Inside(s, r.negate, lo, h.nb))
      set(Decision::kNegated, [&] { return absl::StrCat("negation cue '", *cue, "' before it"); });
  }
  if (d == Decision::kReported && !r.near.empty()) {
    uint32_t missing = 0;
    size_t lo = BackChars(s, h.nb, r.window), hi = ForwardChars(s, h.ne, r.window, &missing);
    if (!Inside(s, r.near, lo, hi)) {
      if (complete || missing == 0) {
        set(Decision::kMissingContext, [] { return "required context absent"; });
      } else {
        c.pending = true;  // the window after the hit is not complete yet
      }
    }
  }
  if (d == Decision::kReported && r.validator != Validator::kNone &&
      !Validate(r.validator, s.substr(h.nb, h.ne - h.nb)))
    set(Decision::kValidatorFailed, [] { return "validator rejected the digits"; });
  if (d == Decision::kReported && profile && !profile->allow.empty()) {
    if (const std::string* a = Covering(s, profile->allow, h.nb, h.ne)) {
      set(Decision::kProfileAllowed,
          [&] { return absl::StrCat("inside shop allow-term '", *a, "'"); });
    } else if (!complete && h.nb + MaxSize(profile->allow) > s.size()) {
      c.pending = true;
    }
  }
  if (d == Decision::kReported && c.severity < options.min_severity)
    set(Decision::kBelowThreshold, [] { return "below the severity threshold"; });
  if (d != Decision::kReported) c.pending = false;  // a failed check is final
  return c;
}

absl::Status ResolveRegexStarts(const FilterImpl& f, std::string_view norm, hs_scratch_t* scratch,
                                std::vector<RawHit>* raw, std::vector<SomReport>* som) {
  // A regex whose matches all have one width (min_width == max_width, in normalised bytes, from
  // hs_expression_info) starts at end - width: no engine call. The others are looked up in
  // their own start-of-match database, over a window that ends at the hit and begins one
  // character before the earliest start its max_width allows (so that an assertion such as \b
  // at the start of the match sees the character before it, as in the whole-text scan). One
  // small database per regex costs about 1 K instructions a call; the database of all regexes
  // cost 15–40 K whatever hit. som holds the pending hits (id = pattern, from = index in *raw,
  // to = end), sorted by pattern and end, then each window's reports after them.
  som->clear();
  for (size_t i = 0; i < raw->size(); ++i) {
    RawHit& h = (*raw)[i];
    if (!h.regex) continue;
    const RegexPattern& p = f.regexes[h.pattern];
    if (p.min_width == p.max_width) {
      h.nb = p.max_width <= h.ne ? h.ne - p.max_width : kNoStart;
      continue;
    }
    som->push_back({h.pattern, static_cast<uint32_t>(i), h.ne});
  }
  const size_t pending = som->size();
  if (pending == 0) return absl::OkStatus();
  std::sort(som->begin(), som->end(), [](const SomReport& a, const SomReport& b) {
    return a.id != b.id ? a.id < b.id : a.to < b.to;
  });
  auto window_begin = [&](const SomReport& e) -> uint32_t {
    const uint32_t w = f.regexes[e.id].max_width;
    const size_t earliest = w >= e.to ? 0 : e.to - w;
    return static_cast<uint32_t>(earliest == 0 ? 0 : BackChars(norm, earliest, 1));
  };
  auto on_som = [](unsigned id, unsigned long long from, unsigned long long to, unsigned,
                   void* ctx) -> int {
    static_cast<std::vector<SomReport>*>(ctx)->push_back(
        {id, static_cast<uint32_t>(from), static_cast<uint32_t>(to)});
    return 0;
  };
  for (size_t a = 0; a < pending;) {
    // One window per run of hits of one pattern whose windows overlap.
    const uint32_t id = (*som)[a].id;
    const uint32_t lo = window_begin((*som)[a]);
    uint32_t hi = (*som)[a].to;
    size_t b = a + 1;
    while (b < pending && (*som)[b].id == id && window_begin((*som)[b]) <= hi) hi = (*som)[b++].to;
    const hs_database_t* db = id < f.regex_start_dbs.size() ? f.regex_start_dbs[id].get() : nullptr;
    if (db == nullptr) {  // cannot happen for a filter that loaded; the hits stay unresolved
      for (size_t k = a; k < b; ++k) (*raw)[(*som)[k].from].nb = kNoStart;
      a = b;
      continue;
    }
    const size_t first = som->size();
    hs_error_t rc = hs_scan(db, norm.data() + lo, hi - lo, 0, scratch, on_som, som);
    if (rc != HS_SUCCESS)
      return absl::InternalError(absl::StrCat("engine scan failed: ", HsErrorName(rc)));
    // Reports by end, leftmost start first; each hit takes the report ending where it ends.
    const auto reports = som->begin() + static_cast<std::ptrdiff_t>(first);
    std::sort(reports, som->end(), [](const SomReport& x, const SomReport& y) {
      return x.to != y.to ? x.to < y.to : x.from < y.from;
    });
    for (size_t k = a; k < b; ++k) {
      const SomReport e = (*som)[k];
      RawHit& h = (*raw)[e.from];
      auto it = std::lower_bound(reports, som->end(), e.to - lo,
                                 [](const SomReport& x, uint32_t to) { return x.to < to; });
      h.nb = it != som->end() && it->to == e.to - lo ? it->from + lo : kNoStart;
    }
    som->resize(first);
    a = b;
  }
  return absl::OkStatus();
}

void Resolve(const FilterImpl& f, const ProfileImpl* profile, const ScanOptions& options,
             std::string_view text, std::string_view norm, const OffsetMap& map,
             std::vector<RawHit>* raw_hits, std::vector<Candidate>* cand_buffer,
             std::vector<Finding>* findings, std::vector<Trace>* traces) {
  std::vector<RawHit>& raw = *raw_hits;
  std::vector<Candidate>& cands = *cand_buffer;
  std::sort(raw.begin(), raw.end(), [](const RawHit& a, const RawHit& b) {
    return a.nb != b.nb ? a.nb < b.nb : a.ne != b.ne ? a.ne > b.ne : a.rule < b.rule;
  });
  raw.erase(std::unique(raw.begin(), raw.end(),
                        [](const RawHit& a, const RawHit& b) {
                          return a.nb == b.nb && a.ne == b.ne && a.rule == b.rule;
                        }),
            raw.end());

  cands.clear();
  if (traces) traces->clear();
  const uint32_t deny_category = static_cast<uint32_t>(f.categories.size());
  std::string detail;
  for (const RawHit& h : raw) {
    if (h.nb == kNoStart) {
      continue;  // no start of match found: cannot be reported (never seen; defensive)
    }
    const bool deny = h.rule == kDenyRule;
    const Rule& r = deny ? profile->deny_rule : f.rules[h.rule];
    detail.clear();
    Confirmation c = Confirm(f, profile, options, norm, map, h, /*complete=*/true,
                             traces ? &detail : nullptr);
    const uint32_t ob = map.src_begin[h.nb], oe = map.src_end[h.ne - 1];
    const uint32_t trace = traces ? static_cast<uint32_t>(traces->size()) : 0;
    if (traces) {
      Trace t;
      t.rule = &r;
      t.normalized = {h.nb, h.ne};
      t.bytes = {ob, oe};
      t.decision = c.decision;
      t.detail = detail;
      traces->push_back(std::move(t));
    }
    if (c.decision == Decision::kReported) {
      cands.push_back({&r, deny ? deny_category : f.rule_category[h.rule], c.severity, h.nb, h.ne,
                       deny ? kDenyRule : h.rule, ob, oe, trace});
    }
  }
  auto lose = [&](const Candidate& c, const char* why) {
    if (!traces) return;
    Trace& t = (*traces)[c.trace];
    t.decision = Decision::kOverlapped;
    t.detail = why;
  };

  if (options.overlap == Overlap::kLongestPerCategory && cands.size() > 1) {
    std::stable_sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
      if (a.category != b.category) return a.category < b.category;
      if (a.nb != b.nb) return a.nb < b.nb;
      if (a.ne != b.ne) return a.ne > b.ne;
      return a.order < b.order;
    });
    size_t out = 0;
    uint32_t cat = UINT32_MAX, end = 0;
    for (size_t i = 0; i < cands.size(); ++i) {
      const Candidate& c = cands[i];
      if (c.category != cat) {
        cat = c.category;
        end = 0;
      }
      if (c.nb >= end) {
        end = c.ne;
        cands[out++] = c;
      } else {
        lose(c, "overlaps an earlier or longer finding of the same category");
      }
    }
    cands.resize(out);
  }
  // The documented order is by original span: (byte begin, longer first, rule index). Normalised
  // order can differ from it only where hits start or end inside one expanding character; the
  // normalised span breaks the remaining ties, so that the result never depends on the sort.
  std::sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
    if (a.ob != b.ob) return a.ob < b.ob;
    if (a.oe != b.oe) return a.oe > b.oe;
    if (a.order != b.order) return a.order < b.order;
    if (a.nb != b.nb) return a.nb < b.nb;
    return a.ne > b.ne;
  });
  if (cands.size() > 1) {
    size_t out = 1;
    for (size_t i = 1; i < cands.size(); ++i) {
      const Candidate& p = cands[out - 1];
      const Candidate& c = cands[i];
      if (c.ob == p.ob && c.oe == p.oe && c.order == p.order) {
        lose(c, "same span in the message as another finding of this rule");
      } else {
        cands[out++] = c;
      }
    }
    cands.resize(out);
  }

  // Original spans; character offsets by one forward walk.
  size_t cursor = 0, chars = 0;
  findings->reserve(findings->size() + cands.size());
  for (const Candidate& c : cands) {
    Finding fd;
    fd.rule = c.rule;
    fd.severity = c.severity;
    fd.bytes = {c.ob, c.oe};
    auto count = [&](std::string_view t) {
      return map.valid_utf8 ? CountValidChars(t) : CountChars(t);
    };
    chars += count(text.substr(cursor, fd.bytes.begin - cursor));
    cursor = fd.bytes.begin;
    fd.chars = {chars, chars + count(text.substr(fd.bytes.begin, fd.bytes.size()))};
    fd.text = text.substr(fd.bytes.begin, fd.bytes.size());
    findings->push_back(fd);
  }
}

}  // namespace scriptqa::internal
