#include "scriptqa/scanner.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

  std::string norm;
  OffsetMap map;
  std::vector<RawHit> raw;
  std::vector<Candidate> cands;
  std::vector<Finding> findings;
  std::vector<SomReport> som;

  // Runs the pipeline on `text`; fills `findings`. Caller holds `busy`.
  absl::Status Run(std::string_view text, const ScanOptions& options,
                   std::vector<Trace>* traces);

 private:
  static int OnLiteral(unsigned id, unsigned long long, unsigned long long to, unsigned,
                       void* ctx) {
    auto* self = static_cast<ScannerImpl*>(ctx);
    const auto& pats = self->f->literals.patterns;
    if (id >= pats.size()) return 0;  // cannot happen with a validated database
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

absl::Status ScannerImpl::Run(std::string_view text, const ScanOptions& options,
                              std::vector<Trace>* traces) {
  findings.clear();
  raw.clear();
  if (text.size() >= UINT32_MAX / 4)
    return absl::InvalidArgumentError("message too large (limit 1 GiB)");
  const ProfileImpl* profile = options.profile ? &options.profile->impl() : nullptr;
  if (profile && profile->filter.get() != filter.get())
    return absl::InvalidArgumentError("the profile was created for another filter");
  profile_ = profile;

  size_t invalid_at = std::string::npos;
  uint32_t classes = 0;
  const size_t max_norm = internal::Normalizer::MaxOutput(text.size());
  if (!f->normalizer->Normalize(text, &norm, nullptr, &invalid_at, &classes, max_norm))
    return ExpansionError(text.size());
  if (invalid_at != std::string::npos && options.invalid_utf8 == InvalidUtf8::kReject)
    return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte ", invalid_at));

  const unsigned len = static_cast<unsigned>(norm.size());
  if (len > 0) {
    if (f->literals.db) {
      hs_error_t rc = hs_scan(f->literals.db.get(), norm.data(), len, 0, scratch.get(),
                              &ScannerImpl::OnLiteral, this);
      if (rc != HS_SUCCESS)
        return absl::InternalError(absl::StrCat("engine scan failed: ", internal::HsErrorName(rc)));
    }
    if (!f->regex_groups.empty()) {
      // Gated: a group whose regexes need a digit, letter or '@' is skipped when there is none.
      for (const FilterImpl::RegexGroup& g : f->regex_groups) {
        if (g.required != 0 && (classes & g.required) == 0) continue;
        hs_error_t rc = hs_scan(g.db.get(), norm.data(), len, 0, scratch.get(),
                                &ScannerImpl::OnRegex, this);
        if (rc != HS_SUCCESS)
          return absl::InternalError(absl::StrCat("engine scan failed: ", internal::HsErrorName(rc)));
      }
    } else if (f->regex_db) {
      hs_error_t rc = hs_scan(f->regex_db.get(), norm.data(), len, 0, scratch.get(),
                              &ScannerImpl::OnRegex, this);
      if (rc != HS_SUCCESS)
        return absl::InternalError(absl::StrCat("engine scan failed: ", internal::HsErrorName(rc)));
    }
    if (profile && profile->deny.db) {
      hs_database_t* deny_db = profile->deny.db.get();
      for (int attempt = 0; attempt < 2; ++attempt) {
        if (deny_scratch_for != deny_db) {
          hs_scratch_t* s = scratch.get();
          if (hs_alloc_scratch(deny_db, &s) != HS_SUCCESS)
            return absl::ResourceExhaustedError("cannot grow scratch space for the profile");
          scratch.release();
          scratch.reset(s);
          deny_scratch_for = deny_db;
        }
        hs_error_t rc = hs_scan(deny_db, norm.data(), len, 0, scratch.get(),
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
  }
  if (raw.empty()) {
    if (traces) traces->clear();
    return absl::OkStatus();
  }

  // Slow path: hits exist. Recompute with the offset map, resolve regex starts, confirm.
  if (!f->normalizer->Normalize(text, &norm, &map, nullptr, nullptr, max_norm))
    return ExpansionError(text.size());
  absl::Status st = internal::ResolveRegexStarts(*f, norm, scratch.get(), &raw, &som);
  if (!st.ok()) return st;
  internal::Resolve(*f, profile, options, text, norm, map, &raw, &cands, &findings, traces);
  return absl::OkStatus();
}

// ---- Scanner ----------------------------------------------------------------------------------

namespace {

// Marks a scanner busy for the duration of a call; detects concurrent and re-entrant use.
class BusyGuard {
 public:
  explicit BusyGuard(std::atomic<bool>* flag) : flag_(flag) {
    bool expected = false;
    acquired_ = flag_->compare_exchange_strong(expected, true, std::memory_order_acquire);
  }
  ~BusyGuard() {
    if (acquired_) flag_->store(false, std::memory_order_release);
  }
  bool acquired() const { return acquired_; }

 private:
  std::atomic<bool>* flag_;
  bool acquired_;
};

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
  e.normalized = impl_->norm;
  e.findings = impl_->findings;
  return e;
}

namespace {

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

std::string Apply(std::string_view text, const std::vector<Finding>& chosen, bool mask_only) {
  std::string out;
  size_t pos = 0;
  for (const Finding& f : chosen) {
    out.append(text.substr(pos, f.bytes.begin - pos));
    std::string s = mask_only || f.rule->suggestions.empty() ? Stars(f) : f.Suggestion(0);
    out += s;
    pos = f.bytes.end;
  }
  out.append(text.substr(pos));
  return out;
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
  absl::Status st = impl_->Run(text, options, nullptr);
  if (!st.ok()) return st;
  std::vector<Finding> chosen = ChooseReplacements(impl_->findings, text);
  result.replaced = chosen;
  std::string cur = Apply(text, chosen, false);
  // Later rounds: only what is still block/review is replaced again; the last round masks.
  ScanOptions strict = options;
  strict.min_severity = std::max(options.min_severity, Severity::kReview);
  for (int round = 0; round < 4; ++round) {
    st = impl_->Run(cur, strict, nullptr);
    if (!st.ok()) return st;
    if (!Dirty(impl_->findings)) break;
    std::vector<Finding> again = ChooseReplacements(impl_->findings, cur);
    cur = Apply(cur, again, /*mask_only=*/round >= 2);
  }
  st = impl_->Run(cur, strict, nullptr);
  if (!st.ok()) return st;
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
  if (!errors.empty())
    return absl::InvalidArgumentError(absl::StrCat("invalid profile:\n", absl::StrJoin(errors, "\n")));
  absl::Status st = internal::CompileLiterals(&impl->deny, [&](size_t i) {
    return absl::StrCat("deny_terms[", i, "]");
  });
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
