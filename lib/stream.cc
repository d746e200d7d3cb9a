// StreamScanner: the block pipeline (normalise, match, confirm, resolve) run incrementally.
//
// How it stays exact: the normaliser is per character and append-only, so normalising the message
// batch by batch (whole characters only; see CompleteEnd) and splicing the pieces gives the same
// text and offset map as normalising it at once. New text is matched in block mode on windows that
// reach back far enough for every hit ending in it (the longest active literal; for regexes, the
// run of characters their alphabet allows), or, for regexes with anchors or assertions, with the
// engine's streaming database; either way the raw hits are those of the block scan. Finish() hands
// all raw hits of the message to internal::Resolve, the very code Scanner::Scan uses, so the final
// findings are the block findings by construction. Before the end, a hit is reported only when
// nothing that can still arrive could change its fate (resolve.h, Confirm with complete = false;
// plus the overlap argument in Decide()). docs/server.md has the full argument and measurements.
#include "scriptqa/stream.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "busy_guard.h"
#include "dense.h"
#include "filter_impl.h"
#include "profile_impl.h"
#include "resolve.h"
#include "utf8.h"

namespace scriptqa {

using internal::kDenyRule;
using internal::kNoStart;
using internal::RawHit;

namespace internal {
namespace {

// Bound on the holdback that an unbounded regex imposes on `releasable` (normalised bytes). Such a
// regex can make a finding start before text already released; no shipped rule has one.
constexpr uint32_t kUnboundedHoldback = 1024;
constexpr uint32_t kUnbounded = UINT32_MAX;

// ---- Regex alphabets ------------------------------------------------------------------------
// A match of a regex consists only of characters of its alphabet, so once a character outside it
// has been scanned, no future match of that regex can start at or before it. Computing the
// alphabet conservatively from the pattern text (anything not understood means "any character")
// keeps e.g. the e-mail regex (84 bytes wide) from holding back Chinese text.

using Ranges = std::vector<std::pair<uint32_t, uint32_t>>;

bool DecodeAt(std::string_view s, size_t* i, uint32_t* cp) {
  int len;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  *cp = DecodeUtf8(p + *i, p + s.size(), &len);
  *i += static_cast<size_t>(len);
  return *cp != kInvalidCp;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

enum class Kind { kKnown, kAny, kUnsafe };

// Parses the escape at re[*i] == '\\'. Adds its characters (sets *single for one character).
Kind Escape(std::string_view re, size_t* i, Ranges* out, uint32_t* single) {
  if (*i + 1 >= re.size()) return Kind::kUnsafe;
  char e = re[*i + 1];
  *single = kInvalidCp;
  if (e == 'd') {
    out->push_back({'0', '9'});
    *i += 2;
    return Kind::kKnown;
  }
  if (e == 'x') {
    size_t j = *i + 2;
    uint32_t v = 0;
    if (j < re.size() && re[j] == '{') {
      ++j;
      size_t digits = 0;
      while (j < re.size() && HexValue(re[j]) >= 0 && digits < 8) v = v * 16 + HexValue(re[j++]), ++digits;
      if (j >= re.size() || re[j] != '}' || digits == 0) return Kind::kUnsafe;
      ++j;
    } else {
      if (j + 2 > re.size() || HexValue(re[j]) < 0 || HexValue(re[j + 1]) < 0) return Kind::kUnsafe;
      v = static_cast<uint32_t>(HexValue(re[j]) * 16 + HexValue(re[j + 1]));
      j += 2;
    }
    *single = v;
    out->push_back({v, v});
    *i = j;
    return Kind::kKnown;
  }
  static constexpr std::string_view kPunct = ".^$|?*+()[]{}\\/-@#%&~'\"!,:;<=>_` ";
  if (kPunct.find(e) != std::string_view::npos) {
    *single = static_cast<unsigned char>(e);
    out->push_back({*single, *single});
    *i += 2;
    return Kind::kKnown;
  }
  // Character types and control characters: some character, unknown which.
  static constexpr std::string_view kTypes = "wWsSDpPhHvVNtnrfae";
  if (kTypes.find(e) != std::string_view::npos) return Kind::kAny;
  return Kind::kUnsafe;  // assertions (\b \B \A \z \Z \G), back references, \Q..\E, \K, ...
}

// What a regex (Hyperscan syntax, UTF-8 mode, no other flags) can match:
//   kKnown  — only characters in *out;
//   kAny    — characters we do not enumerate (., \w, negated classes);
//   kUnsafe — assertions or anchors (^ $ \b, look-around, flags): its matches depend on where the
//             scanned buffer starts or ends, so it must not be matched on a window of the text.
Kind Alphabet(std::string_view re, Ranges* out) {
  Kind kind = Kind::kKnown;
  size_t i = 0;
  while (i < re.size()) {
    char c = re[i];
    if (c == '\\') {
      uint32_t single;
      Kind k = Escape(re, &i, out, &single);
      if (k == Kind::kUnsafe) return k;
      if (k == Kind::kAny) {
        kind = Kind::kAny;
        i += 2;
      }
    } else if (c == '[') {
      ++i;
      if (i < re.size() && re[i] == '^') kind = Kind::kAny;
      bool first = true;
      while (i < re.size() && (re[i] != ']' || first)) {
        first = false;
        uint32_t lo;
        if (re[i] == '\\') {
          Ranges tmp;
          Kind k = Escape(re, &i, &tmp, &lo);
          if (k == Kind::kUnsafe) return k;
          if (k == Kind::kAny) {
            kind = Kind::kAny;
            i += 2;
            continue;
          }
          if (lo == kInvalidCp) {  // a class escape such as \d
            out->insert(out->end(), tmp.begin(), tmp.end());
            continue;
          }
        } else if (re[i] == '[') {
          return Kind::kUnsafe;  // POSIX classes [:alpha:]: not parsed
        } else if (!DecodeAt(re, &i, &lo)) {
          return Kind::kUnsafe;
        }
        uint32_t hi = lo;
        if (i + 1 < re.size() && re[i] == '-' && re[i + 1] != ']') {
          ++i;
          if (re[i] == '\\') {
            Ranges tmp;
            if (Escape(re, &i, &tmp, &hi) != Kind::kKnown || hi == kInvalidCp) return Kind::kUnsafe;
          } else if (!DecodeAt(re, &i, &hi)) {
            return Kind::kUnsafe;
          }
          if (hi < lo) return Kind::kUnsafe;
        }
        out->push_back({lo, hi});
      }
      if (i >= re.size()) return Kind::kUnsafe;
      ++i;  // ']'
    } else if (c == '(') {
      if (i + 1 < re.size() && re[i + 1] == '?') {
        if (i + 2 < re.size() && re[i + 2] == ':') {
          i += 3;
        } else {
          return Kind::kUnsafe;  // flags, look-around, named groups
        }
      } else {
        ++i;
      }
    } else if (c == '^' || c == '$') {
      return Kind::kUnsafe;
    } else if (c == ')' || c == '|' || c == '?' || c == '*' || c == '+') {
      ++i;
    } else if (c == '{') {
      size_t j = i + 1;
      while (j < re.size() && ((re[j] >= '0' && re[j] <= '9') || re[j] == ',')) ++j;
      if (j < re.size() && re[j] == '}' && j > i + 1) {
        i = j + 1;  // a quantifier
      } else {
        out->push_back({'{', '{'});
        ++i;
      }
    } else if (c == '.') {
      kind = Kind::kAny;
      ++i;
    } else {
      uint32_t cp;
      if (!DecodeAt(re, &i, &cp)) return Kind::kUnsafe;
      out->push_back({cp, cp});
    }
  }
  return kind;
}

}  // namespace

// What a StreamScanner needs to know about a filter beyond FilterImpl; built once per filter and
// shared by all its stream scanners.
struct StreamPlan {
  std::vector<uint32_t> rule_literal_width;  // per rule: longest normalised literal (0: none)
  std::vector<uint32_t> regex_min_width;     // per regex, bytes
  // Regexes are matched on a window of the text (block mode) when every regex is free of anchors
  // and assertions and none is both unbounded and of unknown alphabet; otherwise with the
  // streaming database.
  bool regex_window = false;
  uint64_t ascii[128] = {};                  // per ASCII character: regexes whose alphabet has it
  uint64_t any_non_ascii = 0;                // regexes that accept (almost) any non-ASCII character
  std::vector<std::pair<uint32_t, uint64_t>> non_ascii;  // other non-ASCII characters, sorted
  // The listed non-ASCII characters again: a membership bitmap of the Basic Multilingual Plane
  // (8 KB) in front of a collision-free hash table (a multiplier and size are searched for at
  // build time), so most characters cost one load and a lookup never branches on a collision.
  std::vector<uint64_t> bmp_member = std::vector<uint64_t>(1024, 0);
  std::vector<uint32_t> keys;
  std::vector<uint64_t> values;
  uint32_t multiplier = 2654435761u, shift = 26, slot_mask = 63;

  uint64_t Listed(uint32_t cp) const {
    const uint32_t i = (cp * multiplier) >> shift & slot_mask;
    return values[i] & (0 - static_cast<uint64_t>(keys[i] == cp));
  }
  uint64_t Mask(uint32_t cp) const {
    if (cp < 128) return ascii[cp];
    if (cp < 0x10000 && !(bmp_member[cp >> 6] >> (cp & 63) & 1)) return any_non_ascii;
    return any_non_ascii | Listed(cp);
  }

  void BuildTable() {
    std::fill(bmp_member.begin(), bmp_member.end(), 0);
    for (auto [cp, m] : non_ascii)
      if (cp < 0x10000) bmp_member[cp >> 6] |= uint64_t{1} << (cp & 63);
    for (size_t size = 64;; size *= 2) {
      if (size < 8 * non_ascii.size()) continue;
      int bits = 0;
      while ((size_t{1} << bits) < size) ++bits;
      shift = static_cast<uint32_t>(32 - bits);
      slot_mask = static_cast<uint32_t>(size - 1);
      for (uint32_t attempt = 0; attempt < 200; ++attempt) {
        multiplier = 2654435761u + 2 * attempt * 40503u;
        keys.assign(size, 0);
        values.assign(size, 0);
        bool ok = true;
        for (auto [cp, m] : non_ascii) {
          const uint32_t i = (cp * multiplier) >> shift & slot_mask;
          if (keys[i] != 0) {
            ok = false;
            break;
          }
          keys[i] = cp;
          values[i] = m;
        }
        if (ok) return;
      }
    }
  }

  explicit StreamPlan(const FilterImpl& f) {
    rule_literal_width.assign(f.rules.size(), 0);
    for (const LiteralPattern& p : f.literals.patterns)
      rule_literal_width[p.rule] = std::max(rule_literal_width[p.rule], p.length);
    regex_min_width.assign(f.regexes.size(), 1);
    for (size_t r = 0; r < f.regexes.size(); ++r) {
      hs_expr_info_t* info = nullptr;
      hs_compile_error_t* err = nullptr;
      if (hs_expression_info(f.regex_exprs[r].c_str(), HS_FLAG_UTF8, &info, &err) == HS_SUCCESS) {
        regex_min_width[r] = std::max(info->min_width, 1u);
        std::free(info);
      } else {
        hs_free_compile_error(err);
      }
    }
    BuildTable();
    if (f.regexes.empty() || f.regexes.size() > 64) return;
    regex_window = true;
    for (size_t r = 0; r < f.regexes.size(); ++r) {
      const uint64_t bit = uint64_t{1} << r;
      Ranges ranges;
      Kind kind = Alphabet(f.regex_exprs[r], &ranges);
      if (kind == Kind::kUnsafe || (kind == Kind::kAny && f.regexes[r].max_width == kUnbounded)) {
        regex_window = false;
        any_non_ascii = 0;
        non_ascii.clear();
        for (uint64_t& m : ascii) m = 0;
        BuildTable();
        return;
      }
      if (kind == Kind::kAny) {
        for (uint64_t& m : ascii) m |= bit;
        any_non_ascii |= bit;
        continue;
      }
      for (auto [lo, hi] : ranges) {
        for (uint32_t c = lo; c <= std::min<uint32_t>(hi, 127); ++c) ascii[c] |= bit;
        uint32_t nlo = std::max<uint32_t>(lo, 128);
        if (hi < nlo) continue;
        if (hi - nlo >= 4096) {
          any_non_ascii |= bit;
          continue;
        }
        for (uint32_t c = nlo; c <= hi; ++c) {
          auto it = std::lower_bound(non_ascii.begin(), non_ascii.end(), std::make_pair(c, uint64_t{0}));
          if (it == non_ascii.end() || it->first != c) it = non_ascii.insert(it, {c, 0});
          it->second |= bit;
        }
      }
    }
    BuildTable();
  }
};

namespace {

std::shared_ptr<const StreamPlan> PlanFor(const std::shared_ptr<const Filter>& filter) {
  // Keyed by filter address and checked through a weak pointer, so a new filter that happens to
  // reuse a freed address gets a fresh plan.
  static std::mutex mu;
  static auto* cache = new std::vector<
      std::pair<std::weak_ptr<const Filter>, std::shared_ptr<const StreamPlan>>>();
  std::lock_guard<std::mutex> lock(mu);
  for (auto it = cache->begin(); it != cache->end();) {
    std::shared_ptr<const Filter> live = it->first.lock();
    if (!live) {
      it = cache->erase(it);
    } else if (live == filter) {
      return it->second;
    } else {
      ++it;
    }
  }
  auto plan = std::make_shared<const StreamPlan>(filter->impl());
  cache->emplace_back(filter, plan);
  return plan;
}

// The end of the longest prefix of s[from, size) made of complete decoding units: an incomplete
// but so far valid UTF-8 sequence at the very end is left for the next chunk. Bytes >= 0xC0 are
// never continuation bytes, so they always start a unit of the whole-text decoding.
size_t CompleteEnd(std::string_view s, size_t from) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  for (size_t k = n; k > from && k + 4 > n;) {
    --k;
    if (p[k] < 0xC0) continue;
    if (p[k] < 0xC2 || p[k] > 0xF4) return n;  // invalid lead byte: decided
    int len;
    if (DecodeUtf8(p + k, p + n, &len) == kInvalidCp && k + static_cast<size_t>(len) == n)
      return k;
    return n;
  }
  return n;
}

// Scanner::Scan refuses a message that normalises to more than Normalizer::MaxOutput(size) bytes
// (ResourceExhausted; U+FDFA expands elevenfold, and the offset map takes 8 bytes per normalised
// byte). A stream applies the same bound to every prefix it normalises, so that its memory is
// bounded too: it refuses every message Scan refuses, as soon as the text so far exceeds the bound
// (found in Finish(), with Scan's very status), and also one whose expansion comes first and is
// only diluted by text sent later.
absl::Status ExpansionError(size_t size, bool whole) {
  // With the whole message, the very words of Scan's error (scanner.cc).
  return absl::ResourceExhaustedError(
      absl::StrCat(whole ? "message of " : "the first ", size,
                   whole ? " bytes normalises" : " bytes of the message normalise", " to more than ",
                   Normalizer::MaxOutput(size),
                   " bytes (4x + 64 KiB; e.g. a long run of U+FDFA); not scanned"));
}

absl::Status BusyError() {
  return absl::FailedPreconditionError(
      "stream scanner is already in use (called from two threads at once, or from inside a "
      "call); use one StreamScanner per message in flight");
}

struct StreamDeleter {
  void operator()(hs_stream_t* s) const { hs_close_stream(s, nullptr, nullptr, nullptr); }
};
using StreamPtr = std::unique_ptr<hs_stream_t, StreamDeleter>;

}  // namespace
}  // namespace internal

class StreamScannerImpl {
 public:
  enum class State : uint8_t { kOpen, kFinished, kFailed };
  enum HitState : uint8_t { kPending, kConfirmed, kSuppressed, kReported, kDropped };
  struct Hit {
    RawHit raw;
    uint32_t category;
    uint32_t order;
    Severity severity;
    HitState state;
  };

  std::shared_ptr<const Filter> filter;
  const FilterImpl* f = nullptr;
  std::shared_ptr<const internal::StreamPlan> plan;
  internal::ScratchPtr scratch;
  internal::StreamPtr re_stream;  // only when regexes cannot be matched on windows
  std::atomic<bool> busy{false};

  StreamOptions options;
  const ProfileImpl* profile = nullptr;
  // Per option set: what can still report.
  std::vector<uint32_t> literal_width;  // per category (deny terms last): longest active literal
  uint32_t literal_reach = 0;           // longest active literal of any category
  uint32_t deny_reach = 0;              // longest shop deny term
  std::vector<std::vector<uint32_t>> category_regexes;  // active regexes per category
  std::vector<std::pair<uint32_t, int64_t>> release_regexes;  // active: (regex, capped width)
  uint64_t active_bits = 0;             // active regexes (window mode)

  // The message.
  State state = State::kOpen;
  std::string text;
  size_t decoded = 0;       // text[0, decoded) is normalised
  // What a nonspacing mark at text[decoded] is (it depends on the character before it, which an
  // earlier batch normalised).
  internal::Normalizer::MarkState marks = internal::Normalizer::MarkState::kNoise;
  size_t counted_bytes = 0, counted_chars = 0;  // a known character offset, for findings
  std::string norm;
  internal::DenseText dense;  // a literal window, as the literal databases read it
  internal::OffsetMap map;
  size_t scanned = 0;  // norm[0, scanned) has been matched
  // Window mode: regexes whose alphabet run reaches `scanned`, and where each run began.
  uint64_t alive = 0;
  std::vector<uint32_t> run_begin;
  std::vector<RawHit> all_raw;  // every raw hit, for the final resolution
  std::vector<RawHit> fresh_raw;
  std::vector<Hit> hits;  // de-duplicated, with their state
  absl::flat_hash_set<std::tuple<uint32_t, uint32_t, uint32_t>> seen;
  // Indices into `hits` of those pending or confirmed but not yet reported or dropped, in the
  // order found. Only these are looked at again on each write, so the work per write does not
  // grow with the hits already settled (re-examining all of them made streams quadratic).
  std::vector<uint32_t> open;
  // (rule, original span) of every finding reported so far: two hits of one rule in different
  // normalised bytes of one expanding character give the same finding, reported once (as Resolve
  // does).
  absl::flat_hash_set<std::tuple<const Rule*, size_t, size_t>> reported_spans;
  std::vector<uint32_t> category_end;  // per category: end of the last reported hit
  std::vector<Finding> reported, fresh;
  size_t releasable = 0;

  // The offset map is built lazily: most messages have no hit, and the map is then needed only
  // to turn one normalised position per batch into an original offset, which SourceOffset() gets
  // by walking one batch. `segments` are the normalised batches; map covers segments[0, mapped).
  struct Segment {
    uint32_t orig_begin, orig_end, norm_begin, norm_end;
    internal::Normalizer::MarkState marks;  // at orig_begin: what a nonspacing mark there is
  };
  std::vector<Segment> segments;
  size_t mapped = 0;
  bool lazy_map = true;  // off with collapse_repeats (its junction needs the map) or after a walk
                         // disagreed with the normaliser (then everything is mapped eagerly)

  // Reusable buffers.
  std::string seg_norm;
  internal::OffsetMap seg_map;
  std::vector<internal::SomReport> som;
  std::vector<internal::Candidate> cands;
  std::vector<RawHit> final_raw;
  std::vector<Finding> final_findings;
  std::vector<uint32_t> order;
  size_t window_base = 0, window_after = 0;  // for the match callbacks

  absl::Status Configure(const StreamOptions& o);
  void Clear();
  absl::StatusOr<StreamUpdate> Write(std::string_view chunk);
  absl::StatusOr<StreamUpdate> Finish();
  void Discard();

 private:
  absl::Status NormalizeMore(bool final);
  void SpliceMap(uint32_t orig_offset, size_t base, size_t drop);
  void EnsureMap();
  size_t SourceOffset(size_t p);
  absl::Status ScanMore();
  // Scans norm[lo, size) with a block database: a literal set's (read dense when it is compiled
  // so) or the regex database (LiteralDb{regex_db}: UTF-8).
  absl::Status ScanWindow(const internal::LiteralDb& db, size_t lo, match_event_handler on_match);
  size_t TrackRuns();
  absl::Status Absorb();
  void Decide();
  uint64_t FutureStart(uint32_t category, bool for_release) const;
  void UpdateReleasable();
  void Report(Hit& h);
  void RepointFindings();
  size_t CharStart(size_t pos) const {
    while (pos > 0 && pos < norm.size() && (static_cast<unsigned char>(norm[pos]) & 0xC0) == 0x80) --pos;
    return pos;
  }
  StreamUpdate Update(bool finished) {
    StreamUpdate u;
    u.releasable = releasable;
    u.new_findings = fresh;
    u.finished = finished;
    return u;
  }
  absl::Status Fail(absl::Status st) {
    state = State::kFailed;
    return st;
  }

  // Match callbacks: offsets are relative to the window starting at `window_base`; a hit that
  // ends at or before `window_after` was found by an earlier window.
  static int OnLiteral(unsigned id, unsigned long long, unsigned long long to, unsigned,
                       void* ctx) {
    auto* self = static_cast<StreamScannerImpl*>(ctx);
    const auto& pats = self->f->literals.patterns;
    const size_t end = self->window_base + to;
    if (id >= pats.size() || end <= self->window_after) return 0;
    const auto& p = pats[id];
    self->fresh_raw.push_back({p.rule, id, static_cast<uint32_t>(end - p.length),
                               static_cast<uint32_t>(end), false, p.edges});
    return 0;
  }
  static int OnRegex(unsigned id, unsigned long long, unsigned long long to, unsigned,
                     void* ctx) {
    auto* self = static_cast<StreamScannerImpl*>(ctx);
    const size_t end = self->window_base + to;
    if (id >= self->f->regexes.size() || end <= self->window_after) return 0;
    self->fresh_raw.push_back(
        {self->f->regexes[id].rule, id, kNoStart, static_cast<uint32_t>(end), true, 0});
    return 0;
  }
  static int OnDeny(unsigned id, unsigned long long, unsigned long long to, unsigned, void* ctx) {
    auto* self = static_cast<StreamScannerImpl*>(ctx);
    const auto& pats = self->profile->deny.patterns;
    const size_t end = self->window_base + to;
    if (id >= pats.size() || end <= self->window_after) return 0;
    self->fresh_raw.push_back({kDenyRule, id, static_cast<uint32_t>(end - pats[id].length),
                               static_cast<uint32_t>(end), false, 0});
    return 0;
  }
};

absl::Status StreamScannerImpl::Configure(const StreamOptions& given) {
  StreamOptions o = given;
  if (o.profile) o.scan.profile = o.profile.get();
  const ProfileImpl* p = o.scan.profile ? &o.scan.profile->impl() : nullptr;
  if (p && p->filter.get() != filter.get())
    return absl::InvalidArgumentError("the profile was created for another filter");
  if (p && p->deny.db) {
    hs_scratch_t* s = scratch.get();
    if (hs_alloc_scratch(p->deny.db.get(), &s) != HS_SUCCESS)
      return absl::ResourceExhaustedError("cannot grow scratch space for the profile");
    scratch.release();
    scratch.reset(s);
  }
  options = std::move(o);
  profile = p;

  // Which rules can still report under these options decides how far back a future finding can
  // start (literal widths per category, the active regexes) and which hits must be found at all.
  const size_t ncat = f->categories.size() + 1;  // + profile deny terms
  literal_width.assign(ncat, 0);
  auto active = [&](uint32_t rule) {
    Severity sev = f->rules[rule].severity;
    if (p) {
      if (!p->enabled[rule]) return false;
      if (p->severity[rule] >= 0) sev = static_cast<Severity>(p->severity[rule]);
    }
    return sev >= options.scan.min_severity;
  };
  for (size_t r = 0; r < f->rules.size(); ++r)
    if (active(static_cast<uint32_t>(r))) {
      uint32_t& w = literal_width[f->rule_category[r]];
      w = std::max(w, plan->rule_literal_width[r]);
    }
  literal_reach = *std::max_element(literal_width.begin(), literal_width.end());
  deny_reach = 0;
  if (p && p->deny.db && p->deny_rule.severity >= options.scan.min_severity) {
    for (const auto& dp : p->deny.patterns) deny_reach = std::max(deny_reach, dp.length);
    literal_width[ncat - 1] = deny_reach;
  }
  category_regexes.assign(ncat, {});
  release_regexes.clear();
  active_bits = 0;
  for (size_t r = 0; r < f->regexes.size(); ++r) {
    if (!active(f->regexes[r].rule)) continue;
    category_regexes[f->rule_category[f->regexes[r].rule]].push_back(static_cast<uint32_t>(r));
    release_regexes.push_back(
        {static_cast<uint32_t>(r), std::min(f->regexes[r].max_width, internal::kUnboundedHoldback)});
    if (plan->regex_window) active_bits |= uint64_t{1} << r;
  }
  run_begin.assign(f->regexes.size(), 0);
  category_end.assign(ncat, 0);
  return absl::OkStatus();
}

void StreamScannerImpl::Clear() {
  state = State::kOpen;
  text.clear();
  decoded = 0;
  marks = internal::Normalizer::MarkState::kNoise;
  counted_bytes = 0;
  counted_chars = 0;
  norm.clear();
  map.Clear();
  segments.clear();
  mapped = 0;
  lazy_map = !f->options.normalization.collapse_repeats;
  scanned = 0;
  alive = 0;
  all_raw.clear();
  fresh_raw.clear();
  hits.clear();
  seen.clear();
  open.clear();
  reported_spans.clear();
  std::fill(category_end.begin(), category_end.end(), 0);
  reported.clear();
  fresh.clear();
  releasable = 0;
}

void StreamScannerImpl::Discard() {
  // Drop the engine state of an unfinished message; no end-of-data matches wanted.
  if (state != State::kFinished && re_stream)
    hs_reset_stream(re_stream.get(), 0, nullptr, nullptr, nullptr);
  Clear();
}

absl::Status StreamScannerImpl::NormalizeMore(bool final) {
  const size_t end = final ? text.size() : internal::CompleteEnd(text, decoded);
  if (end == decoded) return absl::OkStatus();
  const std::string_view seg(text.data() + decoded, end - decoded);
  size_t invalid_at = std::string::npos;
  const size_t base = norm.size();
  const bool collapse = f->options.normalization.collapse_repeats;
  const size_t limit = internal::Normalizer::MaxOutput(end);
  // Room for this batch; with collapse_repeats its first character may still merge into the last
  // one (at most 4 bytes), so the bound is checked again after splicing.
  const size_t room = (limit > base ? limit - base : 0) + (collapse ? 4 : 0);
  const internal::Normalizer::MarkState marks_before = marks;
  if (lazy_map) {
    if (!f->normalizer->Normalize(seg, &seg_norm, nullptr, &invalid_at, nullptr, room, &marks))
      return internal::ExpansionError(end, final);
    if (invalid_at != std::string::npos && options.scan.invalid_utf8 == InvalidUtf8::kReject)
      return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte ", decoded + invalid_at));
    norm.append(seg_norm);
  } else {
    if (!f->normalizer->Normalize(seg, &seg_norm, &seg_map, &invalid_at, nullptr, room, &marks))
      return internal::ExpansionError(end, final);
    if (invalid_at != std::string::npos && options.scan.invalid_utf8 == InvalidUtf8::kReject)
      return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte ", decoded + invalid_at));
    // With collapse_repeats, a run that continues across the junction stays one character.
    size_t drop = 0;
    if (collapse && base > 0 && !seg_norm.empty()) {
      const uint32_t last = internal::CpBefore(norm, base);
      int len;
      const auto* q = reinterpret_cast<const unsigned char*>(seg_norm.data());
      const uint32_t first = internal::DecodeUtf8(q, q + seg_norm.size(), &len);
      if (first == last) {
        drop = static_cast<size_t>(len);
        const uint32_t new_end = static_cast<uint32_t>(decoded) + seg_map.src_end[0];
        size_t k = base;
        do {
          --k;
          map.src_end[k] = new_end;
        } while (k > 0 && (static_cast<unsigned char>(norm[k]) & 0xC0) == 0x80);
      }
    }
    if (base + seg_norm.size() - drop > limit) return internal::ExpansionError(end, final);
    norm.append(seg_norm, drop, std::string::npos);
    SpliceMap(static_cast<uint32_t>(decoded), base, drop);
  }
  segments.push_back({static_cast<uint32_t>(decoded), static_cast<uint32_t>(end),
                      static_cast<uint32_t>(base), static_cast<uint32_t>(norm.size()),
                      marks_before});
  if (!lazy_map) mapped = segments.size();
  decoded = end;
  return absl::OkStatus();
}

// Appends seg_map (the map of one normalised batch, minus its first `drop` bytes) to `map`:
// offsets shift by what came before; a clause break at the junction is recorded once.
// (map.src_char is not kept: nothing in the confirmation stage reads it, and findings count their
// characters from the text.)
void StreamScannerImpl::SpliceMap(uint32_t orig_offset, size_t base, size_t drop) {
  const size_t add = seg_map.src_begin.size() - drop, at = map.src_begin.size();
  map.src_begin.resize(at + add);
  map.src_end.resize(at + add);
  uint32_t* sb = map.src_begin.data() + at;
  uint32_t* se = map.src_end.data() + at;
  const uint32_t* tb = seg_map.src_begin.data() + drop;
  const uint32_t* te = seg_map.src_end.data() + drop;
  for (size_t i = 0; i < add; ++i) {
    sb[i] = tb[i] + orig_offset;
    se[i] = te[i] + orig_offset;
  }
  for (uint32_t b : seg_map.clause_breaks) {
    const uint32_t pos = static_cast<uint32_t>(b == 0 ? base : base + b - drop);
    if (map.clause_breaks.empty() || map.clause_breaks.back() != pos)
      map.clause_breaks.push_back(pos);
  }
}

// Builds the offset map of the batches normalised without one (the confirmation stage and
// finding spans need it).
void StreamScannerImpl::EnsureMap() {
  for (; mapped < segments.size(); ++mapped) {
    const Segment& g = segments[mapped];
    internal::Normalizer::MarkState m = g.marks;
    f->normalizer->Normalize(std::string_view(text).substr(g.orig_begin, g.orig_end - g.orig_begin),
                             &seg_norm, &seg_map, nullptr, nullptr, SIZE_MAX, &m);
    SpliceMap(g.orig_begin, g.norm_begin, 0);
  }
}

// The original offset of the character that produced normalised byte p (src_begin[p]), without
// building the map: walks p's batch with the normaliser's table up to p. If the walk does not
// reach p inside the batch (the normaliser changed in a way this walk does not know), the map is
// built instead, now and for the rest of the message. (The differential test checks that no
// finding ever starts in text released earlier, which a wrong walk would break.)
size_t StreamScannerImpl::SourceOffset(size_t p) {
  if (p < map.src_begin.size()) return map.src_begin[p];
  auto it = std::upper_bound(segments.begin(), segments.end(), p,
                             [](size_t q, const Segment& g) { return q < g.norm_end; });
  if (lazy_map && it != segments.end()) {
    const internal::Normalizer& nz = *f->normalizer;
    const auto* t = reinterpret_cast<const unsigned char*>(text.data());
    size_t out = it->norm_begin, found = std::string::npos;
    // Nonspacing marks: decided (lazily, as the normaliser does) by the character before them.
    bool mark_noise = it->marks == internal::Normalizer::MarkState::kNoise;
    bool after_mark = true;  // the batch's start counts as following a decided mark
    uint32_t prev_cp = 0;
    for (size_t pos = it->orig_begin; pos < it->orig_end;) {
      uint32_t cp = t[pos];
      int len = 1;
      bool invalid = false;
      if (cp >= 0x80) {
        cp = internal::DecodeUtf8(t + pos, t + it->orig_end, &len);
        if (cp == internal::kInvalidCp) {
          cp = 0xFFFD;
          invalid = true;
        }
      }
      uint32_t e = nz.Lookup(cp);
      if (e & internal::Normalizer::kMark) {
        if (!after_mark) mark_noise = nz.MarksAfterAreNoise(prev_cp);
        if (nz.BecomesMarksOnly(e)) {
          after_mark = true;
          e = mark_noise ? internal::Normalizer::kSkip : (e & ~internal::Normalizer::kMark);
        } else {  // marks, then other characters (kMulti: normalised below with mark_noise)
          prev_cp = cp;
          after_mark = false;
          e &= ~internal::Normalizer::kMark;
        }
      } else {
        prev_cp = cp;
        after_mark = false;
      }
      size_t olen;
      if (e == 0 && !invalid) {
        olen = static_cast<size_t>(len);
      } else if (e & internal::Normalizer::kSkip) {
        olen = 0;
      } else if (e & internal::Normalizer::kMulti) {
        // (A mark's own state goes with it; other characters do not depend on it.)
        internal::Normalizer::MarkState ms = mark_noise ? internal::Normalizer::MarkState::kNoise
                                                        : internal::Normalizer::MarkState::kKept;
        std::string one;
        nz.Normalize(std::string_view(text).substr(pos, static_cast<size_t>(len)), &one, nullptr,
                     nullptr, nullptr, SIZE_MAX, &ms);
        olen = one.size();
      } else {
        const uint32_t to = e & internal::Normalizer::kCpMask;
        const uint32_t c = to == 0 ? cp : to;
        olen = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
      }
      if (olen > 0 && out + olen > p) {
        found = pos;
        break;
      }
      out += olen;
      pos += static_cast<size_t>(len);
    }
    if (found != std::string::npos) return found;
    lazy_map = false;  // disagreement: fall back to the exact map from now on
  }
  EnsureMap();
  return map.src_begin[p];
}

absl::Status StreamScannerImpl::ScanWindow(const internal::LiteralDb& db, size_t lo,
                                           match_event_handler on_match) {
  window_base = lo;
  window_after = scanned;
  dense.Trim(1u << 20);
  hs_error_t rc = internal::ScanLiterals(db, std::string_view(norm).substr(lo), &dense,
                                         scratch.get(), on_match, this);
  if (rc != HS_SUCCESS)
    return absl::InternalError(absl::StrCat("engine scan failed: ", internal::HsErrorName(rc)));
  return absl::OkStatus();
}

// Follows the regex alphabet runs over norm[scanned, size). Returns where a regex window must
// start so that every match ending after `scanned` is inside it, or npos when no regex can have
// such a match: a match lies within one run of its alphabet and is at least min_width long.
size_t StreamScannerImpl::TrackRuns() {
  const size_t s = scanned, n = norm.size();
  size_t lo = std::string::npos;
  const internal::StreamPlan& pl = *plan;
  auto consider = [&](uint32_t r, size_t begin, size_t end) {
    if (end <= s || end - begin < pl.regex_min_width[r]) return;
    const uint32_t w = f->regexes[r].max_width;  // bounded, or the alphabet is known
    size_t start = begin;
    if (w != internal::kUnbounded && s + 1 > w) start = std::max(start, s + 1 - w);
    lo = std::min(lo, start);
  };
  const uint64_t act = active_bits, any = pl.any_non_ascii & act;
  const uint64_t* ascii = pl.ascii;
  const uint64_t* member = pl.bmp_member.data();
  uint64_t live = alive;
  const auto* p = reinterpret_cast<const unsigned char*>(norm.data());
  for (size_t pos = s; pos < n;) {
    // Normalised text is valid UTF-8 (invalid input became U+FFFD).
    const uint32_t c0 = p[pos];
    uint64_t m;
    size_t len;
    if (c0 < 0x80) {
      m = ascii[c0] & act;
      len = 1;
    } else {
      uint32_t cp;
      if (c0 >= 0xF0) {
        cp = (c0 & 0x07) << 18 | (p[pos + 1] & 0x3Fu) << 12 | (p[pos + 2] & 0x3Fu) << 6 | (p[pos + 3] & 0x3Fu);
        len = 4;
      } else if (c0 >= 0xE0) {
        cp = (c0 & 0x0F) << 12 | (p[pos + 1] & 0x3Fu) << 6 | (p[pos + 2] & 0x3Fu);
        len = 3;
      } else {
        cp = (c0 & 0x1F) << 6 | (p[pos + 1] & 0x3Fu);
        len = 2;
      }
      m = any;
      if (cp >= 0x10000 || (member[cp >> 6] >> (cp & 63) & 1)) m |= pl.Listed(cp) & act;
    }
    if (m != live) {  // a run of some regex ends or starts here
      for (uint64_t d = live & ~m; d != 0; d &= d - 1) {
        const uint32_t r = static_cast<uint32_t>(__builtin_ctzll(d));
        consider(r, run_begin[r], pos);
      }
      for (uint64_t b = m & ~live; b != 0; b &= b - 1)
        run_begin[__builtin_ctzll(b)] = static_cast<uint32_t>(pos);
      live = m;
    }
    pos += len;
  }
  alive = live;
  for (uint64_t a = live; a != 0; a &= a - 1) {
    const uint32_t r = static_cast<uint32_t>(__builtin_ctzll(a));
    consider(r, run_begin[r], n);
  }
  return lo;
}

absl::Status StreamScannerImpl::ScanMore() {
  const size_t n = norm.size();
  if (n == scanned) return absl::OkStatus();
  // Regex runs first, while the text is hot in the cache and before the engine evicts the tables.
  const size_t regex_lo = plan->regex_window && active_bits != 0 ? TrackRuns() : std::string::npos;
  // Literals (and shop deny terms) on a window reaching back by the longest active one: every
  // literal hit that ends after `scanned` lies inside it.
  if (f->literals.db && literal_reach > 0) {
    const size_t lo = scanned + 1 > literal_reach ? CharStart(scanned + 1 - literal_reach) : 0;
    absl::Status st = ScanWindow(f->literals.Db(), lo, &OnLiteral);
    if (!st.ok()) return st;
  }
  if (deny_reach > 0) {
    const size_t lo = scanned + 1 > deny_reach ? CharStart(scanned + 1 - deny_reach) : 0;
    absl::Status st = ScanWindow(profile->deny.Db(), lo, &OnDeny);
    if (!st.ok()) return st;
  }
  if (regex_lo != std::string::npos) {
    absl::Status st = ScanWindow({f->regex_db.get()}, CharStart(regex_lo), &OnRegex);
    if (!st.ok()) return st;
  } else if (re_stream) {
    window_base = 0;
    window_after = 0;
    hs_error_t rc = hs_scan_stream(re_stream.get(), norm.data() + scanned,
                                   static_cast<unsigned>(n - scanned), 0, scratch.get(), &OnRegex, this);
    if (rc != HS_SUCCESS)
      return absl::InternalError(absl::StrCat("engine scan failed: ", internal::HsErrorName(rc)));
  }
  scanned = n;
  return Absorb();
}

// Adds the raw hits of the last scan: regex starts, then de-duplication into `hits`.
absl::Status StreamScannerImpl::Absorb() {
  if (fresh_raw.empty()) return absl::OkStatus();
  bool any_regex = false;
  for (const RawHit& h : fresh_raw) any_regex |= h.regex;
  if (any_regex) {
    absl::Status st = internal::ResolveRegexStarts(*f, norm, scratch.get(), &fresh_raw, &som);
    if (!st.ok()) return st;
  }
  const uint32_t deny_category = static_cast<uint32_t>(f->categories.size());
  for (const RawHit& h : fresh_raw) {
    all_raw.push_back(h);
    if (h.nb == kNoStart) continue;
    if (!seen.insert({h.nb, h.ne, h.rule}).second) continue;
    const bool deny = h.rule == kDenyRule;
    open.push_back(static_cast<uint32_t>(hits.size()));
    hits.push_back({h, deny ? deny_category : f->rule_category[h.rule], deny ? kDenyRule : h.rule,
                    Severity::kAdvice, kPending});
  }
  fresh_raw.clear();
  return absl::OkStatus();
}

// The earliest normalised offset at which a raw hit of `category` not found yet can start, or
// UINT64_MAX when none can. Such a hit ends after `scanned`.
uint64_t StreamScannerImpl::FutureStart(uint32_t category, bool for_release) const {
  const int64_t next_end = static_cast<int64_t>(scanned) + 1;
  int64_t best = INT64_MAX;
  if (uint32_t w = literal_width[category]; w > 0) best = next_end - w;
  for (uint32_t r : category_regexes[category]) {
    uint32_t w = f->regexes[r].max_width;
    if (w == internal::kUnbounded && for_release) w = internal::kUnboundedHoldback;
    int64_t start = w == internal::kUnbounded ? 0 : next_end - w;
    // In window mode a future match continues the current run of its alphabet (or starts anew).
    if (plan->regex_window)
      start = std::max<int64_t>(start, (alive >> r & 1) ? run_begin[r] : static_cast<int64_t>(scanned));
    best = std::min(best, start);
  }
  if (best == INT64_MAX) return UINT64_MAX;
  return best < 0 ? 0 : static_cast<uint64_t>(best);
}

void StreamScannerImpl::Report(Hit& h) {
  h.state = kReported;
  const Rule& r = h.raw.rule == kDenyRule ? profile->deny_rule : f->rules[h.raw.rule];
  Finding fd;
  fd.rule = &r;
  fd.severity = h.severity;
  fd.bytes = {map.src_begin[h.raw.nb], map.src_end[h.raw.ne - 1]};
  if (!reported_spans.insert({&r, fd.bytes.begin, fd.bytes.end}).second) return;
  const std::string_view t = text;
  // Findings of different categories can come a little out of order: count back from the last
  // one rather than from the start of the message (both offsets are character boundaries).
  if (fd.bytes.begin < counted_bytes) {
    counted_chars -= internal::CountChars(t.substr(fd.bytes.begin, counted_bytes - fd.bytes.begin));
  } else {
    counted_chars += internal::CountChars(t.substr(counted_bytes, fd.bytes.begin - counted_bytes));
  }
  counted_bytes = fd.bytes.begin;
  fd.chars = {counted_chars,
              counted_chars + internal::CountChars(t.substr(fd.bytes.begin, fd.bytes.size()))};
  fd.text = std::string_view(text).substr(fd.bytes.begin, fd.bytes.size());
  reported.push_back(fd);
  fresh.push_back(fd);
}

void StreamScannerImpl::Decide() {
  if (open.empty()) return;
  EnsureMap();
  const size_t n = norm.size();
  for (uint32_t i : open) {
    Hit& h = hits[i];
    if (h.state != kPending) continue;
    internal::Confirmation c =
        internal::Confirm(*f, profile, options.scan, text, norm, map, h.raw, /*complete=*/false,
                          nullptr);
    if (c.pending) continue;
    h.severity = c.severity;
    h.state = c.decision == Decision::kReported ? kConfirmed : kSuppressed;
  }
  // With collapse_repeats the last character's source run can still grow.
  const bool collapse = f->options.normalization.collapse_repeats;
  auto span_final = [&](const Hit& h) { return !collapse || h.raw.ne < n; };
  auto still_open = [&](uint32_t i) {
    return hits[i].state == kPending || hits[i].state == kConfirmed;
  };

  if (options.scan.overlap == Overlap::kAll) {
    for (uint32_t i : open)
      if (hits[i].state == kConfirmed && span_final(hits[i])) Report(hits[i]);
    open.erase(std::remove_if(open.begin(), open.end(), [&](uint32_t i) { return !still_open(i); }),
               open.end());
    return;
  }
  // Leftmost-longest per category, decided greedily in the block order: a hit is settled once
  // every hit before it in that order is settled and no hit found later can come before it
  // (a later hit ends later, so it comes first only if it starts at or before this one). Settled
  // hits never matter again: category_end holds what they decided.
  open.erase(std::remove_if(open.begin(), open.end(), [&](uint32_t i) { return !still_open(i); }),
             open.end());
  order.assign(open.begin(), open.end());
  std::sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
    const Hit& a = hits[x];
    const Hit& b = hits[y];
    if (a.category != b.category) return a.category < b.category;
    if (a.raw.nb != b.raw.nb) return a.raw.nb < b.raw.nb;
    if (a.raw.ne != b.raw.ne) return a.raw.ne > b.raw.ne;
    return a.order < b.order;
  });
  uint32_t cat = UINT32_MAX;
  uint64_t future = 0;
  bool blocked = false;
  for (uint32_t i : order) {
    Hit& h = hits[i];
    if (h.category != cat) {
      cat = h.category;
      future = FutureStart(cat, /*for_release=*/false);
      blocked = false;
    }
    if (blocked) continue;
    if (h.raw.nb >= future || h.state == kPending || !span_final(h)) {
      blocked = true;
      continue;
    }
    if (h.raw.nb >= category_end[cat]) {
      category_end[cat] = h.raw.ne;
      Report(h);
    } else {
      h.state = kDropped;
    }
  }
  open.erase(std::remove_if(open.begin(), open.end(), [&](uint32_t i) { return !still_open(i); }),
             open.end());
}

void StreamScannerImpl::UpdateReleasable() {
  // The earliest start of a hit not found yet, over all categories (as FutureStart, but capping
  // unbounded regexes), and of the hits still open.
  const int64_t next_end = static_cast<int64_t>(scanned) + 1;
  int64_t best = INT64_MAX;
  if (literal_reach > 0) best = next_end - literal_reach;
  if (deny_reach > 0) best = std::min<int64_t>(best, next_end - deny_reach);
  for (const auto& [r, w] : release_regexes) {
    int64_t start = next_end - w;
    if (plan->regex_window)
      start = std::max<int64_t>(start, (alive >> r & 1) ? run_begin[r] : static_cast<int64_t>(scanned));
    best = std::min(best, start);
  }
  uint64_t p = best == INT64_MAX ? UINT64_MAX : best < 0 ? 0 : static_cast<uint64_t>(best);
  for (uint32_t i : open) p = std::min<uint64_t>(p, hits[i].raw.nb);
  size_t rel = p >= norm.size() ? decoded : SourceOffset(p);
  releasable = std::max(releasable, rel);
}

void StreamScannerImpl::RepointFindings() {
  const std::string_view t = text;
  for (Finding& fd : reported) fd.text = t.substr(fd.bytes.begin, fd.bytes.size());
}

absl::StatusOr<StreamUpdate> StreamScannerImpl::Write(std::string_view chunk) {
  fresh.clear();
  if (state == State::kFinished)
    return absl::FailedPreconditionError("the message is finished; call Reset() to start another");
  if (state == State::kFailed)
    return absl::FailedPreconditionError("the message failed earlier; call Reset()");
  if (text.size() + chunk.size() >= UINT32_MAX / 4)
    return Fail(absl::InvalidArgumentError("message too large (limit 1 GiB)"));
  const char* before = text.data();
  text.append(chunk);
  if (text.data() != before && !reported.empty()) RepointFindings();
  // Batching: the engine and the decisions run once enough new text is waiting, or on every
  // chunk while a hit waits for context.
  if (text.size() - decoded < options.min_scan_bytes && open.empty()) return Update(false);

  absl::Status st = NormalizeMore(false);
  if (st.ok()) st = ScanMore();
  if (!st.ok()) return Fail(st);
  Decide();
  UpdateReleasable();
  return Update(false);
}

absl::StatusOr<StreamUpdate> StreamScannerImpl::Finish() {
  fresh.clear();
  if (state == State::kFinished)
    return absl::FailedPreconditionError("the message is finished; call Reset() to start another");
  if (state == State::kFailed)
    return absl::FailedPreconditionError("the message failed earlier; call Reset()");
  absl::Status st = NormalizeMore(true);
  if (st.ok()) st = ScanMore();
  if (!st.ok()) return Fail(st);
  if (re_stream) {
    // End of data: regexes anchored at the end report now; the stream is ready for reuse.
    window_base = 0;
    window_after = 0;
    hs_error_t rc = hs_reset_stream(re_stream.get(), 0, scratch.get(), &OnRegex, this);
    if (rc != HS_SUCCESS)
      return Fail(absl::InternalError(absl::StrCat("engine scan failed: ", internal::HsErrorName(rc))));
  }
  state = State::kFinished;
  st = Absorb();
  if (!st.ok()) return Fail(st);

  // The final answer is the block pipeline's, on all raw hits of the message.
  final_findings.clear();
  if (!all_raw.empty()) {
    EnsureMap();
    final_raw = all_raw;
    for (RawHit& h : final_raw)
      if (h.regex) h.nb = kNoStart;
    st = internal::ResolveRegexStarts(*f, norm, scratch.get(), &final_raw, &som);
    if (!st.ok()) return Fail(st);
    internal::Resolve(*f, profile, options.scan, text, norm, map, &final_raw, &cands,
                      &final_findings, nullptr);
  }
  // What was not reported yet is new; reported_spans has every finding reported so far (a rule
  // has one severity per option set, so rule and span identify a finding).
  for (const Finding& fd : final_findings)
    if (!reported_spans.contains({fd.rule, fd.bytes.begin, fd.bytes.end})) fresh.push_back(fd);
  reported.swap(final_findings);
  open.clear();
  releasable = text.size();
  return Update(true);
}

// ---- StreamScanner ----------------------------------------------------------------------------

StreamScanner::StreamScanner(std::unique_ptr<StreamScannerImpl> impl) : impl_(std::move(impl)) {}
StreamScanner::StreamScanner(StreamScanner&&) noexcept = default;
StreamScanner& StreamScanner::operator=(StreamScanner&&) noexcept = default;
StreamScanner::~StreamScanner() = default;

absl::StatusOr<StreamScanner> StreamScanner::Create(std::shared_ptr<const Filter> filter,
                                                    const StreamOptions& options) {
  if (!filter) return absl::InvalidArgumentError("StreamScanner::Create: null filter");
  auto impl = std::make_unique<StreamScannerImpl>();
  impl->f = &filter->impl();
  const FilterImpl& f = *impl->f;
  if (f.prototype) {
    hs_scratch_t* s = nullptr;
    hs_error_t rc = hs_clone_scratch(f.prototype.get(), &s);
    if (rc != HS_SUCCESS)
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot allocate scratch space: ", internal::HsErrorName(rc)));
    impl->scratch.reset(s);
  }
  impl->plan = internal::PlanFor(filter);
  if (!impl->plan->regex_window && f.regex_stream_db) {
    hs_stream_t* s = nullptr;
    hs_error_t rc = hs_open_stream(f.regex_stream_db.get(), 0, &s);
    if (rc != HS_SUCCESS)
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot open an engine stream: ", internal::HsErrorName(rc)));
    impl->re_stream.reset(s);
  }
  impl->filter = std::move(filter);
  absl::Status st = impl->Configure(options);
  if (!st.ok()) return st;
  impl->Clear();
  return StreamScanner(std::move(impl));
}

absl::StatusOr<StreamUpdate> StreamScanner::Write(std::string_view chunk) {
  internal::BusyGuard guard(&impl_->busy);
  if (!guard.acquired()) return internal::BusyError();
  return impl_->Write(chunk);
}

absl::StatusOr<StreamUpdate> StreamScanner::Finish() {
  internal::BusyGuard guard(&impl_->busy);
  if (!guard.acquired()) return internal::BusyError();
  return impl_->Finish();
}

void StreamScanner::Reset() {
  internal::BusyGuard guard(&impl_->busy);
  if (!guard.acquired()) return;  // misuse: a call is running; leave it alone
  impl_->Discard();
}

absl::Status StreamScanner::Reset(const StreamOptions& options) {
  internal::BusyGuard guard(&impl_->busy);
  if (!guard.acquired()) return internal::BusyError();
  impl_->Discard();
  return impl_->Configure(options);
}

std::string_view StreamScanner::text() const { return impl_->text; }
absl::Span<const Finding> StreamScanner::findings() const { return impl_->reported; }
size_t StreamScanner::releasable() const { return impl_->releasable; }
bool StreamScanner::finished() const { return impl_->state == StreamScannerImpl::State::kFinished; }
const std::shared_ptr<const Filter>& StreamScanner::filter() const { return impl_->filter; }
const StreamOptions& StreamScanner::options() const { return impl_->options; }

}  // namespace scriptqa
