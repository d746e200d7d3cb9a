#include "scriptqa/scanner.h"
#include "scriptqa/mask.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "busy_guard.h"
#include "dense.h"
#include "dictionary.h"
#include "filter_impl.h"
#include "profile_impl.h"
#include "resolve.h"
#include "utf8.h"

namespace scriptqa {

using internal::Candidate;
using internal::kDenyRule;
using internal::kNoStart;
using internal::OffsetMap;
using internal::RawHit;
using internal::ScratchPtr;
using internal::SomReport;

class ScannerImpl {
 public:
  std::shared_ptr<const Filter> filter;
  const FilterImpl* f = nullptr;
  ScratchPtr scratch;
  // The profile deny database the scratch was last grown for: growing costs about a microsecond,
  // so it is done once per profile, not per scan.
  const hs_database_t* deny_scratch_for = nullptr;
  std::atomic<bool> busy{false};

  std::string norm;      // normalised text; only the first norm_len bytes are meaningful
  size_t norm_len = 0;
  OffsetMap map;
  std::vector<RawHit> raw;
  std::vector<Candidate> cands;
  std::vector<Finding> findings;
  std::vector<SomReport> som;
  internal::CheckMemo check_memo;  // what the checks of that message's hits share
  internal::DenseText dense;  // the text of EngineScan, as the literal databases read it
  uint32_t gate_hits = 0;     // EngineScan: the regex groups (bits) whose gates were found
  bool batching = false;      // EngineScan on a batch: groups are left to ScanGated

  // Batches (RunBatch): the normalised messages, each followed by the separator, and their hits.
  struct BatchEntry {
    uint32_t base = 0;  // where the message's normalised text begins in `batch`
    uint32_t end = 0;   // and ends (the separator follows)
    uint32_t classes = 0;  // character classes of the message (regex gating)
    uint32_t gates = 0;    // the regex groups whose gates occur in the message
    bool mapped = false;   // batch_maps holds the message's offset map (kBatchMapBytes)
    absl::Status status;
  };
  std::string batch;
  std::string gated;  // the messages of a batch that a gated regex group must see
  std::vector<std::pair<uint32_t, uint32_t>> gated_bases;  // (offset in gated, offset in batch)
  std::vector<BatchEntry> batch_entries;
  std::vector<RawHit> batch_raw;
  // The offset maps (as runs) of the batch's messages, made as they are normalised into `batch`:
  // a message with hits is confirmed without normalising it again. Reused from batch to batch.
  std::vector<OffsetMap> batch_maps;

  // Frees buffers grown past 8 MiB by a very long message: called as each call begins, so the
  // memory of one long message is held only until the next call. Only a call with at least
  // kLarge bytes of text can grow them that far (normalised text is at most 4x + 64 KiB); such a
  // call sets `large`, and the next one trims.
  void TrimBuffers();
  void BeginCall(size_t text_bytes) {
    if (large) TrimBuffers();
    large = text_bytes >= kLarge;
  }
  static constexpr size_t kLarge = 512 << 10;
  bool large = false;

  // Runs the pipeline on `text`; fills `findings`. Caller holds `busy`.
  absl::Status Run(std::string_view text, const ScanOptions& options,
                   std::vector<Trace>* traces);
  // The pipeline on many messages; calls `on_message` once per message, in order.
  absl::Status RunBatch(
      absl::Span<const std::string_view> texts, const ScanOptions& options,
      absl::FunctionRef<void(size_t, const absl::Status&, absl::Span<const Finding>)> on_message);

 private:
  // The steps: Begin (options), CheckSize, EngineScan (raw hits of normalised data into `raw`),
  // Confirm (offset map, starts, confirmation: `findings`).
  absl::Status Begin(const ScanOptions& options);
  static absl::Status CheckSize(std::string_view text);
  absl::Status EngineScan(std::string_view data, uint32_t classes);
  absl::Status ScanGated(size_t group, std::string_view data);
  // The batch entry whose text (or separator) holds batch offset `pos`.
  BatchEntry& EntryAt(uint32_t pos) {
    auto it = std::upper_bound(batch_entries.begin(), batch_entries.end(), pos,
                               [](uint32_t v, const BatchEntry& e) { return v < e.base; });
    return *(it - 1);  // the first base is 0
  }
  // `mapped`: norm[0, norm_len) and map are already the text's (Run made them); otherwise
  // Confirm normalises the text again, with its map.
  // The map is recorded as runs, on the way (a few entries per message), except with
  // collapse_repeats, whose map only Normalize makes (dense).
  bool MapsAsRuns() const { return !f->options.normalization.collapse_repeats; }
  absl::Status Confirm(std::string_view text, const ScanOptions& options,
                       std::vector<Trace>* traces, bool mapped = false);

  static int OnLiteral(unsigned id, unsigned long long, unsigned long long to, unsigned,
                       void* ctx) {
    auto* self = static_cast<ScannerImpl*>(ctx);
    const auto& pats = self->f->literals.patterns;
    if (id >= pats.size()) {  // a gate of regex groups
      const auto& gates = self->f->literals.gate_groups;
      if (id - pats.size() >= gates.size()) return 0;
      const uint32_t groups = gates[id - pats.size()];
      self->gate_hits |= groups;
      if (self->batching) self->EntryAt(static_cast<uint32_t>(to) - 1).gates |= groups;
      return 0;
    }
    const auto& p = pats[id];
    self->raw.push_back({p.rule, id, static_cast<uint32_t>(to - p.length),
                         static_cast<uint32_t>(to), false, p.edges});
    return 0;
  }
  static int OnRegex(unsigned id, unsigned long long, unsigned long long to, unsigned,
                     void* ctx) {
    auto* self = static_cast<ScannerImpl*>(ctx);
    if (id >= self->f->regexes.size()) return 0;
    self->raw.push_back(
        {self->f->regexes[id].rule, id, kNoStart, static_cast<uint32_t>(to), true, 0});
    return 0;
  }
  static int OnDeny(unsigned id, unsigned long long, unsigned long long to, unsigned, void* ctx) {
    auto* self = static_cast<ScannerImpl*>(ctx);
    const auto& pats = self->profile_->deny.patterns;
    if (id >= pats.size()) return 0;
    self->raw.push_back({kDenyRule, id, static_cast<uint32_t>(to - pats[id].length),
                         static_cast<uint32_t>(to), false, 0});
    return 0;
  }
  const ProfileImpl* profile_ = nullptr;
};

namespace {

absl::Status ExpansionError(size_t size) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "message of ", size, " bytes normalises to more than ",
      internal::Normalizer::MaxOutput(size),
      " bytes (4x + 64 KiB; e.g. a long run of U+FDFA); not scanned"));
}

}  // namespace

absl::Status ScannerImpl::Begin(const ScanOptions& options) {
  const ProfileImpl* profile = options.profile ? &options.profile->impl() : nullptr;
  if (profile && profile->filter.get() != filter.get())
    return absl::InvalidArgumentError("the profile was created for another filter");
  profile_ = profile;
  return absl::OkStatus();
}

absl::Status ScannerImpl::CheckSize(std::string_view text) {
  if (text.size() >= UINT32_MAX / 4)
    return absl::InvalidArgumentError("message too large (limit 1 GiB)");
  return absl::OkStatus();
}

absl::Status ScannerImpl::EngineScan(std::string_view data, uint32_t classes) {
  if (data.empty()) return absl::OkStatus();
  const unsigned len = static_cast<unsigned>(data.size());
  gate_hits = 0;
  if (f->literals.db) {
    hs_error_t rc = internal::ScanLiterals(f->literals.Db(), data, &dense, scratch.get(),
                                           &ScannerImpl::OnLiteral, this);
    if (rc != HS_SUCCESS)
      return absl::InternalError(absl::StrCat("engine scan failed: ", internal::HsErrorName(rc)));
  }
  // The regex groups: one whose regexes need a digit, letter or '@' is skipped when there is
  // none, and a gated one when the literal pass found none of its gates.
  uint32_t todo =
      batching ? 0 : f->groups_for_classes[classes & 7] & (~f->gated_groups | gate_hits);
  for (; todo != 0; todo &= todo - 1) {
    const FilterImpl::RegexGroup& g = f->regex_groups[static_cast<size_t>(__builtin_ctz(todo))];
    hs_error_t rc = hs_scan(g.db.get(), data.data(), len, 0, scratch.get(),
                            &ScannerImpl::OnRegex, this);
    if (rc != HS_SUCCESS)
      return absl::InternalError(absl::StrCat("engine scan failed: ", internal::HsErrorName(rc)));
  }
  if (profile_ && profile_->deny.db) {
    hs_database_t* deny_db = profile_->deny.db.get();
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (deny_scratch_for != deny_db) {
        hs_scratch_t* s = scratch.get();
        if (hs_alloc_scratch(deny_db, &s) != HS_SUCCESS)
          return absl::ResourceExhaustedError("cannot grow scratch space for the profile");
        scratch.release();
        scratch.reset(s);
        deny_scratch_for = deny_db;
      }
      hs_error_t rc = internal::ScanLiterals(profile_->deny.Db(), data, &dense, scratch.get(),
                                             &ScannerImpl::OnDeny, this);
      if (rc == HS_SUCCESS) break;
      // A new profile's database at a reused address may need more scratch: grow, retry once.
      if (rc == HS_INVALID && attempt == 0) {
        deny_scratch_for = nullptr;
        continue;
      }
      return absl::InternalError(absl::StrCat("engine scan failed: ", internal::HsErrorName(rc)));
    }
  }
  return absl::OkStatus();
}

absl::Status ScannerImpl::ScanGated(size_t group, std::string_view data) {
  // The messages of the batch that have one of the group's classes and, for a gated group, one
  // of its gates, copied with their separators into one buffer (`gated`); `gated_bases` maps its
  // offsets back to the batch's.
  const FilterImpl::RegexGroup& g = f->regex_groups[group];
  gated.clear();
  gated_bases.clear();
  size_t count = 0;
  for (const BatchEntry& e : batch_entries) {
    if (g.required != 0 && (e.classes & g.required) == 0) continue;
    if (g.gated && (e.gates >> group & 1) == 0) continue;
    ++count;
    gated_bases.push_back({static_cast<uint32_t>(gated.size()), e.base});
    gated.append(data.data() + e.base, e.end - e.base + 1);  // with the separator
  }
  const bool whole = count == batch_entries.size();
  const std::string_view sub = whole ? data : std::string_view(gated);
  const size_t first = raw.size();
  hs_error_t rc = hs_scan(g.db.get(), sub.data(), static_cast<unsigned>(sub.size()), 0,
                          scratch.get(), &ScannerImpl::OnRegex, this);
  if (rc != HS_SUCCESS)
    return absl::InternalError(absl::StrCat("engine scan failed: ", internal::HsErrorName(rc)));
  if (whole) return absl::OkStatus();
  for (size_t k = first; k < raw.size(); ++k) {
    RawHit& h = raw[k];
    // The gated message whose text (or separator) holds the hit's last byte.
    auto it = std::upper_bound(gated_bases.begin(), gated_bases.end(), h.ne - 1,
                               [](uint32_t v, const std::pair<uint32_t, uint32_t>& b) {
                                 return v < b.first;
                               });
    --it;  // ne >= 1, and the first base is 0
    h.ne = h.ne - it->first + it->second;
  }
  return absl::OkStatus();
}

absl::Status ScannerImpl::Confirm(std::string_view text, const ScanOptions& options,
                                  std::vector<Trace>* traces, bool mapped) {
  // Hits exist: the offset map (made with the text, or now), regex starts, confirmation.
  if (!mapped) {
    const size_t max_out = internal::Normalizer::MaxOutput(text.size());
    if (MapsAsRuns()) {
      if (!f->normalizer->NormalizeAt(text, &norm, 0, &norm_len, nullptr, nullptr, max_out, &map))
        return ExpansionError(text.size());
    } else {
      if (!f->normalizer->Normalize(text, &norm, &map, nullptr, nullptr, max_out))
        return ExpansionError(text.size());
      norm_len = norm.size();
    }
  }
  const std::string_view norm(this->norm.data(), norm_len);
  absl::Status st = internal::ResolveRegexStarts(*f, norm, scratch.get(), &raw, &som);
  if (!st.ok()) return st;
  internal::Resolve(*f, profile_, options, text, norm, map, &raw, &cands, &findings, traces,
                    &check_memo);
  return absl::OkStatus();
}

void ScannerImpl::TrimBuffers() {
  // After a very long message, give the memory back instead of keeping it for the scanner's life.
  constexpr size_t kKeep = 8 << 20;
  if (norm.size() > kKeep) std::string().swap(norm), norm_len = 0;
  if (batch.size() > 2 * kKeep) std::string().swap(batch);
  if (gated.size() > 2 * kKeep) std::string().swap(gated);
  map.Release(kKeep);
  for (OffsetMap& m : batch_maps) m.Release(kKeep);
  check_memo.terms.Release(kKeep);
  dense.Trim(2 * kKeep);
}

absl::Status ScannerImpl::Run(std::string_view text, const ScanOptions& options,
                              std::vector<Trace>* traces) {
  BeginCall(text.size());
  findings.clear();
  raw.clear();
  if (traces) traces->clear();
  absl::Status st = CheckSize(text);
  if (st.ok()) st = Begin(options);
  if (!st.ok()) return st;

  size_t invalid_at = std::string::npos;
  uint32_t classes = 0;
  const bool runs = MapsAsRuns();  // else Confirm makes the map
  if (!f->normalizer->NormalizeAt(text, &norm, 0, &norm_len, &invalid_at, &classes,
                                  internal::Normalizer::MaxOutput(text.size()),
                                  runs ? &map : nullptr))
    return ExpansionError(text.size());
  if (invalid_at != std::string::npos && options.invalid_utf8 == InvalidUtf8::kReject)
    return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte ", invalid_at));
  st = EngineScan(std::string_view(norm.data(), norm_len), classes);
  if (!st.ok() || raw.empty()) return st;
  return Confirm(text, options, traces, runs);
}

// Batches: the messages are normalised one after another into one buffer, each followed by the
// filter's separator (a character the normaliser removes, so no literal contains it), and every
// database is scanned once per buffer instead of once per message. Hits are then dealt out to
// their messages by end offset. A literal hit cannot span a separator; a regex hit can (a regex may
// match the separator character), but its start of match is then searched for in its own message
// alone (Confirm -> ResolveRegexStarts), which finds none, so the hit is dropped; and every match
// inside a message is reported, as the engine reports every end offset of every pattern. Filters
// whose regexes use anchors (^ $ \A \z \Z) have no separator: their batches are scanned message
// by message.
absl::Status ScannerImpl::RunBatch(
    absl::Span<const std::string_view> texts, const ScanOptions& options,
    absl::FunctionRef<void(size_t, const absl::Status&, absl::Span<const Finding>)> on_message) {
  {
    size_t bytes = 0;
    for (std::string_view t : texts) bytes += t.size();
    BeginCall(bytes);
  }

  absl::Status st = Begin(options);
  if (!st.ok()) return st;
  constexpr size_t kBatchBytes = 64 << 10;  // normalised bytes per engine call: stays in L2
  // Messages of at least this many bytes get their offset map as they are normalised into the
  // batch: most of them have hits, and are then confirmed without normalising them again. A
  // shorter one usually has none, and is normalised again only if it has. Instructions per
  // message, ScanBatch: CI budget set 4,641 so, 4,659 with a map for every message, 4,627 with
  // none; 4 KiB corpus pieces 212k so, 245k with none.
  constexpr size_t kBatchMapBytes = 256;
  const char sep = f->batch_separator;
  if (sep == 0) {
    for (size_t i = 0; i < texts.size(); ++i) {
      absl::Status s = Run(texts[i], options, nullptr);
      on_message(i, s, s.ok() ? absl::Span<const Finding>(findings) : absl::Span<const Finding>());
    }
    return absl::OkStatus();
  }
  const absl::Status ok = absl::OkStatus();
  for (size_t i = 0; i < texts.size();) {
    size_t len = 0;  // bytes of `batch` in use
    batch_entries.clear();
    uint32_t all_classes = 0;  // classes present in some message of the batch
    size_t j = i;
    for (; j < texts.size() && (j == i || len < kBatchBytes); ++j) {
      const std::string_view text = texts[j];
      BatchEntry e;
      e.base = static_cast<uint32_t>(len);
      e.status = CheckSize(text);
      // Keep batch offsets in 32 bits: a huge message starts a batch of its own.
      if (e.status.ok() && j > i && len + text.size() >= UINT32_MAX / 8) break;
      if (e.status.ok()) {
        size_t invalid_at = std::string::npos;
        uint32_t c = 0;
        size_t end = len;
        OffsetMap* runs = nullptr;
        if (MapsAsRuns() && text.size() >= kBatchMapBytes) {
          if (batch_maps.size() <= j - i) batch_maps.resize(j - i + 1);
          runs = &batch_maps[j - i];
          e.mapped = true;
        }
        if (!f->normalizer->NormalizeAt(text, &batch, len, &end, &invalid_at, &c,
                                        internal::Normalizer::MaxOutput(text.size()), runs)) {
          e.status = ExpansionError(text.size());
        } else if (invalid_at != std::string::npos &&
                   options.invalid_utf8 == InvalidUtf8::kReject) {
          e.status =
              absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte ", invalid_at));
        } else {
          e.classes = c;
          all_classes |= c;
          len = end;
        }
      }
      e.end = static_cast<uint32_t>(len);
      if (batch.size() <= len) batch.resize(std::max<size_t>(64, 2 * len));
      batch[len++] = sep;
      batch_entries.push_back(std::move(e));
    }
    const std::string_view data(batch.data(), len);
    raw.clear();
    // Literals (with the groups' gates) and the profile's terms on the whole batch; then each
    // regex group on the messages that have its classes and gates.
    batching = true;
    st = EngineScan(data, 0);
    batching = false;
    if (!st.ok()) return st;
    for (size_t gi = 0; gi < f->regex_groups.size(); ++gi) {
      const FilterImpl::RegexGroup& g = f->regex_groups[gi];
      if (g.required != 0 && (all_classes & g.required) == 0) continue;
      if (g.gated && (gate_hits >> gi & 1) == 0) continue;  // no gate in the whole batch
      st = ScanGated(gi, data);
      if (!st.ok()) return st;
    }
    batch_raw.swap(raw);
    std::sort(batch_raw.begin(), batch_raw.end(),
              [](const RawHit& a, const RawHit& b) { return a.ne < b.ne; });
    size_t h = 0;
    for (size_t k = i; k < j; ++k) {
      const BatchEntry& e = batch_entries[k - i];
      raw.clear();
      findings.clear();
      for (; h < batch_raw.size() && batch_raw[h].ne <= e.end; ++h) {
        RawHit r = batch_raw[h];
        if (r.ne <= e.base) continue;  // ends on a separator
        if (r.nb != kNoStart) {
          if (r.nb < e.base) continue;  // spans a separator
          r.nb -= e.base;
        }
        r.ne -= e.base;
        raw.push_back(r);
      }
      if (!e.status.ok()) {
        on_message(k, e.status, {});
        continue;
      }
      if (raw.empty()) {
        on_message(k, ok, {});
        continue;
      }
      // The message's normalised text and map, as the batch made them.
      if (e.mapped) {
        const size_t n = e.end - e.base;
        if (norm.size() < n) norm.resize(n);
        std::memcpy(norm.data(), batch.data() + e.base, n);
        norm_len = n;
        std::swap(map, batch_maps[k - i]);
      }
      absl::Status s = Confirm(texts[k], options, nullptr, e.mapped);
      on_message(k, s, s.ok() ? absl::Span<const Finding>(findings) : absl::Span<const Finding>());
    }
    i = j;
  }
  return absl::OkStatus();
}

// ---- Scanner ----------------------------------------------------------------------------------

namespace {

using internal::BusyGuard;

absl::Status BusyError() {
  return absl::FailedPreconditionError(
      "scanner is already in use (called from two threads at once, or from its own callback); "
      "use one Scanner per thread");
}

}  // namespace

Scanner::Scanner(std::unique_ptr<ScannerImpl> impl) : impl_(std::move(impl)) {}
Scanner::Scanner(Scanner&&) noexcept = default;
Scanner& Scanner::operator=(Scanner&&) noexcept = default;
Scanner::~Scanner() = default;

absl::StatusOr<Scanner> Scanner::Create(std::shared_ptr<const Filter> filter) {
  if (!filter) return absl::InvalidArgumentError("Scanner::Create: null filter");
  auto impl = std::make_unique<ScannerImpl>();
  impl->f = &filter->impl();
  if (impl->f->prototype) {
    hs_scratch_t* s = nullptr;
    hs_error_t rc = hs_clone_scratch(impl->f->prototype.get(), &s);
    if (rc != HS_SUCCESS)
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot allocate scratch space: ", internal::HsErrorName(rc)));
    impl->scratch.reset(s);
  }
  impl->filter = std::move(filter);
  return Scanner(std::move(impl));
}

const std::shared_ptr<const Filter>& Scanner::filter() const { return impl_->filter; }

absl::Status Scanner::Scan(std::string_view text, const ScanOptions& options,
                           absl::FunctionRef<ScanControl(const Finding&)> on_finding) {
  BusyGuard guard(&impl_->busy);
  if (!guard.acquired()) return BusyError();
  absl::Status st = impl_->Run(text, options, nullptr);
  if (!st.ok()) return st;
  for (const Finding& f : impl_->findings)
    if (on_finding(f) == ScanControl::kStop) break;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Finding>> Scanner::Scan(std::string_view text,
                                                   const ScanOptions& options) {
  BusyGuard guard(&impl_->busy);
  if (!guard.acquired()) return BusyError();
  absl::Status st = impl_->Run(text, options, nullptr);
  if (!st.ok()) return st;
  return impl_->findings;
}

absl::Status Scanner::ScanBatch(
    absl::Span<const std::string_view> texts, const ScanOptions& options,
    absl::FunctionRef<void(size_t, const absl::Status&, absl::Span<const Finding>)> on_message) {
  BusyGuard guard(&impl_->busy);
  if (!guard.acquired()) return BusyError();
  return impl_->RunBatch(texts, options, on_message);
}

absl::StatusOr<std::vector<std::vector<Finding>>> Scanner::ScanBatch(
    absl::Span<const std::string_view> texts, const ScanOptions& options) {
  std::vector<std::vector<Finding>> out(texts.size());
  absl::Status first;
  absl::Status st = ScanBatch(texts, options,
                              [&](size_t i, const absl::Status& s, absl::Span<const Finding> fs) {
                                if (!s.ok() && first.ok())
                                  first = absl::Status(s.code(), absl::StrCat("message ", i, ": ",
                                                                              s.message()));
                                out[i].assign(fs.begin(), fs.end());
                              });
  if (!st.ok()) return st;
  if (!first.ok()) return first;
  return out;
}

absl::StatusOr<bool> Scanner::HasFinding(std::string_view text, Severity at_least,
                                         const ScanOptions& options) {
  ScanOptions o = options;
  o.min_severity = std::max(o.min_severity, at_least);
  BusyGuard guard(&impl_->busy);
  if (!guard.acquired()) return BusyError();
  absl::Status st = impl_->Run(text, o, nullptr);
  if (!st.ok()) return st;
  return !impl_->findings.empty();
}

absl::StatusOr<Explanation> Scanner::Explain(std::string_view text, const ScanOptions& options) {
  BusyGuard guard(&impl_->busy);
  if (!guard.acquired()) return BusyError();
  Explanation e;
  absl::Status st = impl_->Run(text, options, &e.traces);
  if (!st.ok()) return st;
  e.normalized = impl_->norm.substr(0, impl_->norm_len);
  e.findings = impl_->findings;
  // Code-point spans of the traces, counted in one pass over the offsets in order (spans start
  // and end on character boundaries).
  std::vector<std::pair<size_t, size_t*>> points;
  points.reserve(2 * e.traces.size());
  for (Trace& t : e.traces) {
    points.push_back({t.bytes.begin, &t.chars.begin});
    points.push_back({t.bytes.end, &t.chars.end});
  }
  std::sort(points.begin(), points.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t at = 0, chars = 0;
  for (auto& [offset, out] : points) {
    const size_t to = std::min(offset, text.size());
    if (to > at) chars += internal::CountChars(text.substr(at, to - at)), at = to;
    *out = chars;
  }
  return e;
}

absl::StatusOr<std::string> Scanner::Mask(std::string_view text) {
  BusyGuard guard(&impl_->busy);
  if (!guard.acquired()) return BusyError();
  absl::Status st = impl_->Run(text, ScanOptions{}, nullptr);
  if (!st.ok()) return st;
  return MaskPersonalData(text, impl_->findings);
}

namespace {

// The first occurrence of t at or after `from` that ends by `to`; npos when there is none.
size_t FindWithin(std::string_view s, std::string_view t, size_t from, size_t to) {
  to = std::min(to, s.size());
  if (from >= to || to - from < t.size()) return std::string_view::npos;
  const size_t p = s.substr(from, to - from).find(t);
  return p == std::string_view::npos ? p : from + p;
}

// Groups overlapping findings and returns one replacement per group: the group's most severe
// finding (then the longest, then the leftmost), widened to the union of the group's spans, so
// that no part of an overlapping finding (say, a contact ID after a replaced "加vx") survives.
std::vector<Finding> ChooseReplacements(const std::vector<Finding>& all, std::string_view text) {
  std::vector<Finding> sorted = all;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Finding& a, const Finding& b) {
    return a.bytes.begin < b.bytes.begin;
  });
  auto better = [](const Finding& a, const Finding& b) {
    if (a.severity != b.severity) return a.severity > b.severity;
    if (a.bytes.size() != b.bytes.size()) return a.bytes.size() > b.bytes.size();
    return a.bytes.begin < b.bytes.begin;
  };
  std::vector<Finding> chosen;
  for (size_t i = 0; i < sorted.size();) {
    Finding best = sorted[i];
    Span bytes = sorted[i].bytes, chars = sorted[i].chars;
    size_t j = i + 1;
    for (; j < sorted.size() && sorted[j].bytes.begin < bytes.end; ++j) {
      if (better(sorted[j], best)) best = sorted[j];
      if (sorted[j].bytes.end > bytes.end) {
        bytes.end = sorted[j].bytes.end;
        chars.end = sorted[j].chars.end;
      }
    }
    best.bytes = bytes;
    best.chars = chars;
    best.text = text.substr(bytes.begin, bytes.size());
    chosen.push_back(best);
    i = j;
  }
  return chosen;
}

std::string Stars(const Finding& f) { return std::string(f.chars.size(), '*'); }

// Widens each finding of a rule with companions (rule key `with`) over the companions that made
// it a finding, and everything between: the claim is the combination (好评 + 返现5元, 加 + 微信),
// so replacing the hit alone would leave the incentive or the channel beside the suggestion
// ("…进行评价返现5元哦"). Per group, the companion nearest to the hit on its side, within the
// rule's scope (and `within`), extended over companions of the group that touch it ("返现" "5元").
// `norm` and `map` are the normalised text of `text` and its offset map.
void WidenToCompanions(std::string_view text, std::string_view norm, const OffsetMap& map,
                       std::vector<Finding>* findings) {
  if (norm.empty() || map.size() < norm.size()) return;
  for (Finding& f : *findings) {
    const Rule& r = *f.rule;
    if (r.with.empty()) continue;
    // The hit's normalised span: the output bytes whose source lies in the finding.
    const size_t nb = map.FirstAtOrAfter(static_cast<uint32_t>(f.bytes.begin), norm.size());
    size_t ne = nb;
    while (ne < norm.size() && map.Begin(ne) < f.bytes.end) ++ne;
    if (nb >= ne) continue;
    // The rule's scope around the hit, as the confirmation stage reads it.
    size_t lo = internal::BackChars(norm, nb, kMaxScopeChars);
    size_t hi = internal::ForwardChars(norm, ne, kMaxScopeChars);
    if (r.scope != Scope::kMessage) {
      const std::vector<uint32_t>& br = map.clause_breaks;
      auto ends_scope = [&](std::vector<uint32_t>::const_iterator it) {
        const size_t b = *it;
        if (b == 0 || b >= norm.size()) return false;
        return internal::BreakEndsScope(text, norm, map, static_cast<size_t>(it - br.begin()),
                                        r.scope);
      };
      for (auto it = std::upper_bound(br.begin(), br.end(), static_cast<uint32_t>(nb));
           it != br.begin() && *(it - 1) >= lo; --it) {
        if (ends_scope(it - 1)) {
          lo = *(it - 1);
          break;
        }
      }
      for (auto it = std::lower_bound(br.begin(), br.end(), static_cast<uint32_t>(ne));
           it != br.end() && *it <= hi; ++it) {
        if (ends_scope(it)) {
          hi = *it;
          break;
        }
      }
    }
    if (r.within) {
      lo = std::max(lo, internal::BackChars(norm, nb, r.within));
      hi = std::min(hi, internal::ForwardChars(norm, ne, r.within));
    }
    size_t wb = nb, we = ne;
    for (const Companions& group : r.with) {
      // The nearest occurrence on each allowed side: after (or overlapping and extending past the
      // hit), and before.
      size_t ab = SIZE_MAX, ae = 0, bb = 0, be = 0;
      bool after = false, before = false;
      for (const std::string& t : group.terms) {
        if (t.empty()) continue;
        if (group.side != Side::kBefore) {
          // Searched within [lo, hi) only (a search to the end of the message for every finding
          // and term is quadratic in a message of many findings).
          for (size_t p = FindWithin(norm, t, lo, hi); p != std::string_view::npos;
               p = FindWithin(norm, t, p + 1, hi)) {
            if (p + t.size() <= ne) continue;  // not past the hit
            if (p < ab || (p == ab && p + t.size() > ae)) ab = p, ae = p + t.size(), after = true;
            break;
          }
        }
        if (group.side != Side::kAfter && nb > lo) {
          const std::string_view w = norm.substr(lo, nb - lo);
          const size_t p = w.rfind(t);
          if (p != std::string_view::npos) {
            const size_t b = lo + p, e = b + t.size();
            if (e > be || (e == be && b < bb)) bb = b, be = e, before = true;
          }
        }
      }
      // The side nearer to the hit (after the hit when both are as near).
      bool use_after = after && (!before || ab - std::min(ab, ne) <= nb - std::min(nb, be));
      if (!after && !before) continue;
      size_t cb = use_after ? ab : bb, ce = use_after ? ae : be;
      // Companions of the group that touch it, on its side.
      for (bool grew = true; grew;) {
        grew = false;
        for (const std::string& t : group.terms) {
          if (t.empty()) continue;
          if (use_after) {
            // Touching it, or two characters away in its clause (补偿 您 50元).
            const size_t reach = internal::ForwardChars(norm, ce, 2);
            for (size_t p = FindWithin(norm, t, cb, std::min(hi, reach + t.size()));
                 p != std::string_view::npos && p <= reach;
                 p = FindWithin(norm, t, p + 1, std::min(hi, reach + t.size()))) {
              if (p + t.size() <= ce || p + t.size() > hi) continue;
              auto br = std::upper_bound(map.clause_breaks.begin(), map.clause_breaks.end(),
                                         static_cast<uint32_t>(ce));
              if (p > ce && br != map.clause_breaks.end() && *br <= p) continue;
              ce = p + t.size();
              grew = true;
            }
          } else {
            const size_t from = cb > t.size() ? cb - t.size() : 0;
            for (size_t p = FindWithin(norm, t, std::max(from, lo), cb - 1 + t.size());
                 p != std::string_view::npos && p < cb;
                 p = FindWithin(norm, t, p + 1, cb - 1 + t.size())) {
              if (p + t.size() >= cb && p < cb) cb = p, grew = true;
            }
          }
        }
      }
      wb = std::min(wb, cb);
      we = std::max(we, ce);
    }
    if (wb == nb && we == ne) continue;
    const size_t ob = map.Begin(wb), oe = map.End(we - 1);
    if (ob > f.bytes.begin || oe < f.bytes.end || oe > text.size()) continue;
    f.chars.begin -= internal::CountChars(text.substr(ob, f.bytes.begin - ob));
    f.chars.end += internal::CountChars(text.substr(f.bytes.end, oe - f.bytes.end));
    f.bytes = {ob, oe};
    f.text = text.substr(ob, oe - ob);
  }
}

// Replaces each chosen finding by its first suggestion (or its mask: `mask_only`, or no
// suggestion). A suggestion can hold its own term ("2" -> "22…2") or repeat {match}, so that each
// round multiplies the text: when the result would pass `limit` bytes, the round masks instead
// (a mask is one '*' per character: never longer than the text).
std::string Apply(std::string_view text, const std::vector<Finding>& chosen, bool mask_only,
                  size_t limit) {
  std::string out;
  size_t pos = 0;
  for (const Finding& f : chosen) {
    out.append(text.substr(pos, f.bytes.begin - pos));
    if (mask_only || f.rule->suggestions.empty()) {
      out += Stars(f);
    } else if (!internal::RenderSuggestionTo(f.rule->suggestions[0], f.text, limit, &out)) {
      return Apply(text, chosen, /*mask_only=*/true, limit);
    }
    pos = f.bytes.end;
  }
  out.append(text.substr(pos));
  if (!mask_only && out.size() > limit) return Apply(text, chosen, /*mask_only=*/true, limit);
  return out;
}

// Neighbouring replacements that would insert the same text, with nothing but punctuation or
// spaces between them (what normalises to nothing), become one: "用了保证有效，无效退款" gets the
// suggestion once, not "…为准，…为准". Only for suggestions without placeholders, which render
// the same whatever they replace.
void MergeRepeats(const Filter& filter, std::string_view text, std::vector<Finding>* chosen) {
  std::vector<Finding>& c = *chosen;
  size_t out = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    if (out > 0) {
      Finding& prev = c[out - 1];
      const Finding& cur = c[i];
      const std::vector<std::string>& a = prev.rule->suggestions;
      const std::vector<std::string>& b = cur.rule->suggestions;
      if (!a.empty() && !b.empty() && a[0] == b[0] && a[0].find('{') == std::string::npos &&
          cur.bytes.begin >= prev.bytes.end &&
          filter.Normalize(text.substr(prev.bytes.end, cur.bytes.begin - prev.bytes.end)).empty()) {
        if (cur.severity > prev.severity) prev.severity = cur.severity;
        prev.bytes.end = cur.bytes.end;
        prev.chars.end = cur.chars.end;
        prev.text = text.substr(prev.bytes.begin, prev.bytes.size());
        continue;
      }
    }
    c[out++] = c[i];
  }
  c.resize(out);
}

bool Dirty(const std::vector<Finding>& fs) {
  for (const Finding& f : fs)
    if (f.severity >= Severity::kReview) return true;
  return false;
}

}  // namespace

absl::StatusOr<Rewritten> Scanner::Rewrite(std::string_view text, const ScanOptions& options) {
  BusyGuard guard(&impl_->busy);
  if (!guard.acquired()) return BusyError();
  Rewritten result;
  // Every confirmed hit, also those a longer or earlier hit of the same category overlaps: a
  // group is replaced as a whole, so no piece of an overlapped hit survives ("全网最低" replaced,
  // "最低价"'s 价 left).
  ScanOptions opts = options;
  opts.overlap = Overlap::kAll;
  auto widened = [&](std::string_view t) {
    WidenToCompanions(t, std::string_view(impl_->norm.data(), impl_->norm_len), impl_->map,
                      &impl_->findings);
    std::vector<Finding> chosen = ChooseReplacements(impl_->findings, t);
    MergeRepeats(*impl_->filter, t, &chosen);
    return chosen;
  };
  absl::Status st = impl_->Run(text, opts, nullptr);
  if (!st.ok()) return st;
  std::vector<Finding> chosen = widened(text);
  result.replaced = chosen;
  const size_t limit = MaxRewriteBytes(text.size());  // every round's text stays within it
  std::string cur = Apply(text, chosen, false, limit);
  // Later rounds: only what is still block/review is replaced again, by suggestions twice, then
  // masked with '*'. A mask is noise, so it can join the text around it into a new finding
  // ("我的q" + noise + "q" + masked "qqq..." reads 我的qq: found by the fuzz target `scan`); each
  // mask round turns at least one more character into '*', so masking goes on until the text is
  // clean, and after kMaskRounds every character is masked (noise only: nothing to find).
  ScanOptions strict = opts;
  strict.min_severity = std::max(options.min_severity, Severity::kReview);
  constexpr int kSuggestRounds = 2, kMaskRounds = 16;
  constexpr int kLastRound = kSuggestRounds + kMaskRounds;
  for (int round = 0;; ++round) {
    st = impl_->Run(cur, strict, nullptr);
    if (!st.ok()) return st;
    if (!Dirty(impl_->findings) || round > kLastRound) break;
    if (round == kLastRound) {
      cur.assign(internal::CountChars(cur), '*');  // scanned once more, then the loop ends
      continue;
    }
    std::vector<Finding> again = widened(cur);
    cur = Apply(cur, again, /*mask_only=*/round >= kSuggestRounds, limit);
  }
  // impl_->findings are those of `cur`: the loop ends right after scanning it.
  result.clean = !Dirty(impl_->findings);
  result.text = std::move(cur);
  return result;
}

// ---- Profile ----------------------------------------------------------------------------------

Profile::Profile(std::unique_ptr<ProfileImpl> impl) : impl_(std::move(impl)) {}
Profile::~Profile() = default;
const ProfileOptions& Profile::options() const { return impl_->options; }

absl::StatusOr<std::shared_ptr<const Profile>> Profile::Create(
    std::shared_ptr<const Filter> filter, const ProfileOptions& options) {
  if (!filter) return absl::InvalidArgumentError("Profile::Create: null filter");
  const FilterImpl& f = filter->impl();
  auto impl = std::make_unique<ProfileImpl>();
  impl->options = options;
  const size_t n = f.rules.size();
  impl->enabled.assign(n, options.enabled_categories.empty() ? 1 : 0);
  impl->severity.assign(n, -1);
  std::vector<std::string> errors;
  auto is_category = [&](const std::string& c) { return f.category_index.contains(c); };
  for (const std::string& c : options.enabled_categories) {
    if (!is_category(c)) errors.push_back(absl::StrCat("enabled_categories: no category '", c, "'"));
    for (size_t i = 0; i < n; ++i)
      if (f.rules[i].category == c) impl->enabled[i] = 1;
  }
  for (const std::string& d : options.disabled) {
    bool found = false;
    for (size_t i = 0; i < n; ++i)
      if (f.rules[i].category == d || f.rules[i].id == d) {
        impl->enabled[i] = 0;
        found = true;
      }
    if (!found && !is_category(d)) errors.push_back(absl::StrCat("disabled: no rule or category '", d, "'"));
  }
  for (int pass = 0; pass < 2; ++pass) {  // categories first, then rules (rules win)
    for (const SeverityOverride& o : options.severity_overrides) {
      bool found = false;
      for (size_t i = 0; i < n; ++i)
        if ((pass == 0 && f.rules[i].category == o.target) || (pass == 1 && f.rules[i].id == o.target)) {
          impl->severity[i] = static_cast<int8_t>(o.severity);
          found = true;
        }
      if (pass == 1 && !found && !is_category(o.target))
        errors.push_back(absl::StrCat("severity_overrides: no rule or category '", o.target, "'"));
    }
  }
  for (const std::string& a : options.allow_terms) {
    std::string nrm = f.normalizer->Normalize(a);
    if (nrm.empty()) {
      errors.push_back(absl::StrCat("allow_terms: '", a, "' normalises to nothing"));
      continue;
    }
    impl->allow.push_back(std::move(nrm));
  }
  for (const std::string& d : options.deny_terms) {
    std::string nrm = f.normalizer->Normalize(d);
    if (nrm.empty()) {
      errors.push_back(absl::StrCat("deny_terms: '", d, "' normalises to nothing"));
      continue;
    }
    impl->deny.patterns.push_back({0, static_cast<uint32_t>(nrm.size())});
    impl->deny.normalized.push_back(std::move(nrm));
  }
  if (!errors.empty()) {
    // What could have been meant: the filter's categories (rule ids are too many to list).
    return absl::InvalidArgumentError(absl::StrCat("invalid profile:\n", absl::StrJoin(errors, "\n"),
                                                   "\nthe filter's categories: ",
                                                   absl::StrJoin(f.categories, ", ")));
  }
  absl::Status st = internal::CompileLiterals(
      &impl->deny, [&](size_t i) { return absl::StrCat("deny_terms[", i, "]"); },
      internal::PreferDense(impl->deny.normalized));
  if (!st.ok()) return st;
  Rule& r = impl->deny_rule;
  r.id = absl::StrCat(options.deny_category, ".shop_deny");
  r.category = options.deny_category;
  r.severity = options.deny_severity;
  r.reason = options.deny_reason;
  r.index = UINT32_MAX;
  impl->filter = std::move(filter);
  return std::shared_ptr<const Profile>(new Profile(std::move(impl)));
}

}  // namespace scriptqa
