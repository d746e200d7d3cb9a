// FilterHandle and LocalScanner: the pointer-swap reload of scriptqa/reload.h.
//
// Readers pay one acquire load per scan (LocalScanner::Refresh). The shared_ptr of the current
// snapshot is copied under current_mu_ only by a thread that saw a new generation, so the lock is
// taken once per reload per thread, never per scan. The generation is published after the pointer
// (both under current_mu_), and a reader takes the generation from the snapshot it copied, so it
// can never pair an old snapshot with a new number.
#include "scriptqa/reload.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "busy_guard.h"

namespace scriptqa {

std::shared_ptr<const Profile> FilterHandle::Snapshot::profile(std::string_view name) const {
  auto it = std::lower_bound(profiles_.begin(), profiles_.end(), name,
                             [](const auto& p, std::string_view n) { return p.first < n; });
  if (it == profiles_.end() || it->first != name) return nullptr;
  return it->second;
}

std::vector<std::string> FilterHandle::Snapshot::profile_names() const {
  std::vector<std::string> out;
  for (const auto& p : profiles_) out.push_back(p.first);
  return out;
}

absl::StatusOr<std::shared_ptr<FilterHandle>> FilterHandle::Create(
    std::shared_ptr<const Filter> filter) {
  if (!filter) return absl::InvalidArgumentError("FilterHandle::Create: null filter");
  std::shared_ptr<FilterHandle> handle(new FilterHandle());
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = handle->Build(std::move(filter), {});
  if (!snap.ok()) return snap.status();
  handle->Publish(*std::move(snap));
  return handle;
}

std::shared_ptr<const FilterHandle::Snapshot> FilterHandle::Current() const {
  std::lock_guard<std::mutex> lock(current_mu_);
  return current_;
}

absl::StatusOr<std::shared_ptr<const FilterHandle::Snapshot>> FilterHandle::Build(
    std::shared_ptr<const Filter> filter,
    const std::vector<std::pair<std::string, ProfileOptions>>& profiles) const {
  auto snap = std::make_shared<Snapshot>();
  snap->generation_ = generation() + 1;
  for (const auto& [name, options] : profiles) {
    absl::StatusOr<std::shared_ptr<const Profile>> p = Profile::Create(filter, options);
    if (!p.ok())
      return absl::Status(p.status().code(), absl::StrCat("profile '", name, "' does not fit the new rules: ",
                                                          p.status().message()));
    snap->profiles_.emplace_back(name, *std::move(p));
  }
  std::sort(snap->profiles_.begin(), snap->profiles_.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  snap->filter_ = std::move(filter);
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

uint64_t FilterHandle::Publish(std::shared_ptr<const Snapshot> next) {
  const uint64_t gen = next->generation();
  std::shared_ptr<const Snapshot> old;
  {
    std::lock_guard<std::mutex> lock(current_mu_);
    old = std::move(current_);
    current_ = std::move(next);
    generation_.store(gen, std::memory_order_release);
  }
  return gen;  // `old` is released here, outside the lock (it may free a whole filter)
}

absl::StatusOr<uint64_t> FilterHandle::Reload(std::shared_ptr<const Filter> filter) {
  if (!filter) return absl::InvalidArgumentError("FilterHandle::Reload: null filter");
  std::lock_guard<std::mutex> lock(reload_mu_);
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = Build(std::move(filter), profile_options_);
  if (!snap.ok()) return snap.status();
  return Publish(*std::move(snap));
}

absl::StatusOr<uint64_t> FilterHandle::ReloadFromFile(const std::string& database_path) {
  absl::StatusOr<std::shared_ptr<const Filter>> f = Filter::LoadFile(database_path);
  if (!f.ok()) return f.status();
  return Reload(*std::move(f));
}

absl::StatusOr<uint64_t> FilterHandle::ReloadFromDatabase(std::string_view serialized) {
  absl::StatusOr<std::shared_ptr<const Filter>> f = Filter::Deserialize(serialized);
  if (!f.ok()) return f.status();
  return Reload(*std::move(f));
}

absl::StatusOr<uint64_t> FilterHandle::ReloadFromDictionaries(
    absl::Span<const DictionarySource> sources, const FilterOptions& options) {
  absl::StatusOr<std::shared_ptr<const Filter>> f = Filter::FromDictionaries(sources, options);
  if (!f.ok()) return f.status();
  return Reload(*std::move(f));
}

absl::StatusOr<uint64_t> FilterHandle::SetProfile(std::string name, ProfileOptions options) {
  if (name.empty()) return absl::InvalidArgumentError("profile name is empty");
  std::lock_guard<std::mutex> lock(reload_mu_);
  auto next = profile_options_;
  auto it = std::find_if(next.begin(), next.end(), [&](const auto& p) { return p.first == name; });
  if (it != next.end()) {
    it->second = std::move(options);
  } else {
    next.emplace_back(std::move(name), std::move(options));
  }
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = Build(Current()->filter(), next);
  if (!snap.ok()) return snap.status();
  profile_options_ = std::move(next);
  return Publish(*std::move(snap));
}

absl::StatusOr<uint64_t> FilterHandle::RemoveProfile(std::string_view name) {
  std::lock_guard<std::mutex> lock(reload_mu_);
  auto next = profile_options_;
  auto it = std::find_if(next.begin(), next.end(), [&](const auto& p) { return p.first == name; });
  if (it == next.end()) return absl::NotFoundError(absl::StrCat("no profile '", std::string(name), "'"));
  next.erase(it);
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = Build(Current()->filter(), next);
  if (!snap.ok()) return snap.status();
  profile_options_ = std::move(next);
  return Publish(*std::move(snap));
}

// ---- LocalScanner -----------------------------------------------------------------------------

LocalScanner::LocalScanner(LocalScanner&&) noexcept = default;
LocalScanner& LocalScanner::operator=(LocalScanner&&) noexcept = default;
LocalScanner::~LocalScanner() = default;

absl::StatusOr<LocalScanner> LocalScanner::Create(std::shared_ptr<FilterHandle> handle) {
  if (!handle) return absl::InvalidArgumentError("LocalScanner::Create: null handle");
  LocalScanner s;
  s.handle_ = std::move(handle);
  absl::Status st = s.Follow();
  if (!st.ok()) return st;
  return s;
}

namespace {
absl::Status BusyError() {
  return absl::FailedPreconditionError(
      "local scanner is already in use (called from two threads at once); use one LocalScanner "
      "per thread");
}
}  // namespace

absl::Status LocalScanner::Refresh() {
  internal::BusyGuard guard(busy_.get());
  if (!guard.acquired()) return BusyError();
  return Follow();
}

absl::Status LocalScanner::Follow() {
  if (handle_->generation() == generation_) return absl::OkStatus();  // the hot path
  std::shared_ptr<const FilterHandle::Snapshot> snap = handle_->Current();
  if (!scanner_ || snap->filter() != scanner_->filter()) {
    absl::StatusOr<Scanner> s = Scanner::Create(snap->filter());
    if (!s.ok()) return s.status();  // keep scanning on the old snapshot
    scanner_ = std::make_unique<Scanner>(*std::move(s));
  }
  snapshot_ = std::move(snap);
  generation_ = snapshot_->generation();
  return absl::OkStatus();
}

absl::StatusOr<ScanOptions> LocalScanner::Options(const ScanOptions& options,
                                                  std::string_view profile) {
  absl::Status st = Follow();
  if (!st.ok()) return st;
  ScanOptions o = options;
  profile_.reset();
  if (!profile.empty()) {
    profile_ = snapshot_->profile(profile);
    if (!profile_) return absl::NotFoundError(absl::StrCat("no profile '", std::string(profile), "'"));
    o.profile = profile_.get();
  }
  return o;
}

absl::StatusOr<std::vector<Finding>> LocalScanner::Scan(std::string_view text,
                                                        const ScanOptions& options,
                                                        std::string_view profile) {
  internal::BusyGuard guard(busy_.get());
  if (!guard.acquired()) return BusyError();
  absl::StatusOr<ScanOptions> o = Options(options, profile);
  if (!o.ok()) return o.status();
  return scanner_->Scan(text, *o);
}

absl::StatusOr<Rewritten> LocalScanner::Rewrite(std::string_view text, const ScanOptions& options,
                                                std::string_view profile) {
  internal::BusyGuard guard(busy_.get());
  if (!guard.acquired()) return BusyError();
  absl::StatusOr<ScanOptions> o = Options(options, profile);
  if (!o.ok()) return o.status();
  return scanner_->Rewrite(text, *o);
}

absl::StatusOr<Explanation> LocalScanner::Explain(std::string_view text,
                                                  const ScanOptions& options,
                                                  std::string_view profile) {
  internal::BusyGuard guard(busy_.get());
  if (!guard.acquired()) return BusyError();
  absl::StatusOr<ScanOptions> o = Options(options, profile);
  if (!o.ok()) return o.status();
  return scanner_->Explain(text, *o);
}

absl::StatusOr<StreamScanner> LocalScanner::NewStream(StreamOptions options,
                                                      std::string_view profile) {
  internal::BusyGuard guard(busy_.get());
  if (!guard.acquired()) return BusyError();
  absl::StatusOr<ScanOptions> o = Options(options.scan, profile);
  if (!o.ok()) return o.status();
  options.scan = *o;
  if (profile_) options.profile = profile_;
  return StreamScanner::Create(snapshot_->filter(), options);
}

}  // namespace scriptqa
