// scriptqa/reload.h — hot reload: new rules without a restart, and no lock per scan.
//
// A FilterHandle holds the current rules of a server — a Filter plus the per-shop Profiles built
// for it, together a Snapshot — and swaps in new ones atomically. Scanning threads each own a
// LocalScanner, which checks one atomic generation number per scan and fetches the new snapshot
// only when it changed:
//
//   auto handle = scriptqa::FilterHandle::Create(*scriptqa::Filter::LoadFile("rules.sqdb"));
//   (*handle)->SetProfile("shop-42", shop42_options);            // validated now, kept on reload
//
//   // each worker thread:
//   auto scanner = scriptqa::LocalScanner::Create(*handle);
//   auto findings = scanner->Scan(message, {}, "shop-42");
//
//   // an admin endpoint or a timer, any thread:
//   absl::StatusOr<uint64_t> gen = (*handle)->ReloadFromFile("rules.sqdb");   // milliseconds
//   if (!gen.ok()) LOG(WARNING) << "reload failed, still serving the old rules: " << gen.status();
//
// Guarantees:
//   * A scan uses one snapshot from start to end; a scan in flight during a reload finishes on
//     the rules it started with (the snapshot stays alive while anything uses it).
//   * A reload that fails — a dictionary error, a database made for another engine or CPU, a
//     profile that no longer fits the new rules — changes nothing and returns the error.
//   * Reloads are serialised; readers never wait for a reload to build (the new snapshot is built
//     first, then published by a pointer swap under a short lock that only threads which notice a
//     new generation take, once per reload).
//   * Generations increase by one per successful change (reload or profile change), from 1.
//
// Thread safety: FilterHandle and Snapshot are thread-safe. A LocalScanner is one thread's (like
// a Scanner; misuse is detected: a call made while another call on it runs returns
// FailedPrecondition).
#ifndef SCRIPTQA_RELOAD_H_
#define SCRIPTQA_RELOAD_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "scriptqa/filter.h"
#include "scriptqa/scanner.h"
#include "scriptqa/stream.h"

namespace scriptqa {

class SCRIPTQA_API FilterHandle {
 public:
  // One immutable version of the rules: the filter, the profiles built for it, its generation.
  class SCRIPTQA_API Snapshot {
   public:
    const std::shared_ptr<const Filter>& filter() const { return filter_; }
    uint64_t generation() const { return generation_; }
    // The profile of that name built for this filter; nullptr when there is none.
    std::shared_ptr<const Profile> profile(std::string_view name) const;
    // The names of the profiles, sorted.
    std::vector<std::string> profile_names() const;

   private:
    friend class FilterHandle;
    std::shared_ptr<const Filter> filter_;
    uint64_t generation_ = 0;
    std::vector<std::pair<std::string, std::shared_ptr<const Profile>>> profiles_;  // sorted
  };

  // Starts serving `filter` as generation 1.
  static absl::StatusOr<std::shared_ptr<FilterHandle>> Create(std::shared_ptr<const Filter> filter);

  // The current snapshot (takes a short lock; LocalScanner avoids it on the hot path).
  std::shared_ptr<const Snapshot> Current() const;
  // The current generation: one atomic load.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // Replaces the rules. Each builds the new filter and every profile for it, then swaps; returns
  // the new generation, or the error with the old rules still in place.
  absl::StatusOr<uint64_t> ReloadFromFile(const std::string& database_path);  // serialized filter
  absl::StatusOr<uint64_t> ReloadFromDatabase(std::string_view serialized);
  absl::StatusOr<uint64_t> ReloadFromDictionaries(absl::Span<const DictionarySource> sources,
                                                  const FilterOptions& options = {});
  absl::StatusOr<uint64_t> Reload(std::shared_ptr<const Filter> filter);

  // Per-shop configuration, by name. SetProfile adds or replaces a profile (validated against the
  // current filter; InvalidArgument leaves everything as it was); every later reload rebuilds it.
  absl::StatusOr<uint64_t> SetProfile(std::string name, ProfileOptions options);
  absl::StatusOr<uint64_t> RemoveProfile(std::string_view name);

  FilterHandle(const FilterHandle&) = delete;
  FilterHandle& operator=(const FilterHandle&) = delete;

 private:
  FilterHandle() = default;
  // Builds a snapshot of `filter` with `profiles` (the next generation) or fails.
  absl::StatusOr<std::shared_ptr<const Snapshot>> Build(
      std::shared_ptr<const Filter> filter,
      const std::vector<std::pair<std::string, ProfileOptions>>& profiles) const;
  uint64_t Publish(std::shared_ptr<const Snapshot> next);

  std::mutex reload_mu_;  // serialises changes; held while a new snapshot is built
  std::vector<std::pair<std::string, ProfileOptions>> profile_options_;  // guarded by reload_mu_
  mutable std::mutex current_mu_;  // guards current_ (held only to copy or swap the pointer)
  std::shared_ptr<const Snapshot> current_;
  std::atomic<uint64_t> generation_{0};
};

// A thread's scanner that follows a FilterHandle: before each scan it compares the handle's
// generation with its own (one atomic load) and only when they differ fetches the new snapshot
// and makes a new Scanner for it (one scratch allocation, once per reload per thread).
class SCRIPTQA_API LocalScanner {
 public:
  static absl::StatusOr<LocalScanner> Create(std::shared_ptr<FilterHandle> handle);

  LocalScanner(LocalScanner&&) noexcept;
  LocalScanner& operator=(LocalScanner&&) noexcept;
  ~LocalScanner();

  // Moves to the handle's current snapshot if it changed. Scan() and friends call it.
  // FailedPrecondition while another call on this LocalScanner runs (another thread's), as for
  // Scan(), Rewrite() and NewStream().
  absl::Status Refresh();

  // As Scanner::Scan on the current snapshot. With a non-empty `profile`, uses the snapshot's
  // profile of that name (NotFound when there is none; options.profile is then ignored). The
  // findings point into the snapshot's rules and `text`: valid until the next call on this
  // LocalScanner (keep snapshot() to use them longer).
  absl::StatusOr<std::vector<Finding>> Scan(std::string_view text, const ScanOptions& options = {},
                                            std::string_view profile = {});
  absl::StatusOr<Rewritten> Rewrite(std::string_view text, const ScanOptions& options = {},
                                    std::string_view profile = {});
  absl::StatusOr<Explanation> Explain(std::string_view text, const ScanOptions& options = {},
                                      std::string_view profile = {});
  // A stream for one message on the current snapshot (it keeps the filter and profile alive, so
  // the message finishes on these rules even after a reload).
  absl::StatusOr<StreamScanner> NewStream(StreamOptions options = {},
                                          std::string_view profile = {});

  // The snapshot the last call used.
  const std::shared_ptr<const FilterHandle::Snapshot>& snapshot() const { return snapshot_; }
  // The underlying scanner for the current snapshot (after Refresh()); this thread's too: the next
  // Refresh() after a reload replaces it.
  Scanner& scanner() { return *scanner_; }

 private:
  LocalScanner() = default;
  absl::Status Follow();  // Refresh() without the busy flag, which the caller holds
  absl::StatusOr<ScanOptions> Options(const ScanOptions& options, std::string_view profile);

  std::shared_ptr<FilterHandle> handle_;
  std::shared_ptr<const FilterHandle::Snapshot> snapshot_;
  std::shared_ptr<const Profile> profile_;  // the profile of the last call, kept alive with it
  std::unique_ptr<Scanner> scanner_;
  uint64_t generation_ = 0;
  // Taken by every call (lib/busy_guard.h); on the heap so that a LocalScanner stays movable.
  std::unique_ptr<std::atomic<bool>> busy_ = std::make_unique<std::atomic<bool>>(false);
};

}  // namespace scriptqa

#endif  // SCRIPTQA_RELOAD_H_
