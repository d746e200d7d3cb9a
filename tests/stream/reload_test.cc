// FilterHandle / LocalScanner: atomic reloads, failed reloads keep the old rules, profiles follow
// reloads, scans and streams in flight finish on their rules; concurrent scanning while reloading
// (run this binary under ThreadSanitizer with tests/stream/tsan.sh).
#include "scriptqa/reload.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>
#include <unistd.h>
#include <vector>

#include "test_util.h"

namespace scriptqa {
namespace {

// Two rule sets that disagree on the probe message: A flags 最佳, B flags 顶级.
std::string Rules(const char* id, const char* literal) {
  return std::string("%format scriptqa-rules 1\n%default category ad_law\n%default severity review\n") +
         "rule " + id + "\n  literal " + literal + "\n  reason test\n" +
         "rule ad_law.shared\n  literal 第一名\n  reason test\n";
}
const std::string kA = Rules("ad_law.a", "最佳");
const std::string kB = Rules("ad_law.b", "顶级");
const std::string kProbe = "这是最佳的顶级货，第一名";

std::shared_ptr<const Filter> Build(const std::string& rules) {
  return testing::FilterFromText(rules);
}

std::string Signature(const std::vector<Finding>& fs) {
  std::string s;
  for (const Finding& f : fs) s += std::string(f.rule_id()) + "@" + std::to_string(f.bytes.begin) + ";";
  return s;
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/scriptqa_reload_" + name + "_" + std::to_string(::getpid());
}

TEST(Reload, SwapsAndScannersFollow) {
  auto handle = FilterHandle::Create(Build(kA));
  ASSERT_TRUE(handle.ok()) << handle.status();
  EXPECT_EQ((*handle)->generation(), 1u);
  auto scanner = LocalScanner::Create(*handle);
  ASSERT_TRUE(scanner.ok());
  auto a = scanner->Scan(kProbe);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(Signature(*a), "ad_law.a@6;ad_law.shared@27;");

  auto gen = (*handle)->ReloadFromDictionaries({DictionarySource::Text("b.rules", kB)});
  ASSERT_TRUE(gen.ok()) << gen.status();
  EXPECT_EQ(*gen, 2u);
  auto b = scanner->Scan(kProbe);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Signature(*b), "ad_law.b@15;ad_law.shared@27;");
  EXPECT_EQ(scanner->snapshot()->generation(), 2u);
}

TEST(Reload, FailedReloadKeepsTheOldRulesAndSaysWhy) {
  auto handle = FilterHandle::Create(Build(kA));
  ASSERT_TRUE(handle.ok());
  auto scanner = LocalScanner::Create(*handle);
  ASSERT_TRUE(scanner.ok());

  // A dictionary error.
  auto bad = (*handle)->ReloadFromDictionaries(
      {DictionarySource::Text("bad.rules", "%format scriptqa-rules 1\nrule x\n  literal 最\n")});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("bad.rules"), std::string_view::npos) << bad.status();

  // A missing file, a damaged database, one of another format version.
  EXPECT_EQ((*handle)->ReloadFromFile(TempPath("missing")).status().code(),
            absl::StatusCode::kNotFound);
  auto blob = Build(kB)->Serialize();
  ASSERT_TRUE(blob.ok());
  std::string damaged = *blob;
  damaged[damaged.size() / 2] ^= 0x5A;
  EXPECT_EQ((*handle)->ReloadFromDatabase(damaged).status().code(), absl::StatusCode::kDataLoss);
  std::string other_version = *blob;
  other_version[8] = 99;  // the format version follows the 8-byte magic
  auto ov = (*handle)->ReloadFromDatabase(other_version);
  EXPECT_EQ(ov.status().code(), absl::StatusCode::kFailedPrecondition) << ov.status();

  EXPECT_EQ((*handle)->generation(), 1u);
  auto still = scanner->Scan(kProbe);
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(Signature(*still), "ad_law.a@6;ad_law.shared@27;");
}

TEST(Reload, FromASerializedDatabaseTakesMilliseconds) {
  auto filter = testing::DefaultFilter();
  const std::string path = TempPath("default.sqdb");
  ASSERT_TRUE(filter->SaveFile(path).ok());
  auto handle = FilterHandle::Create(Build(kA));
  ASSERT_TRUE(handle.ok());
  ASSERT_TRUE((*handle)->SetProfile("shop", {{}, {"script_quality"}, {}, {"最好的服务"}, {"某宝"}}).ok());
  double best_ms = 1e9;
  for (int i = 0; i < 5; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto gen = (*handle)->ReloadFromFile(path);
    auto t1 = std::chrono::steady_clock::now();
    ASSERT_TRUE(gen.ok()) << gen.status();
    best_ms = std::min(best_ms, std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::printf("reload of the default packs from a database file (with one profile): %.2f ms\n", best_ms);
  // Tens of ms in a release build (a 20 MB database); a sanitizer build measures the sanitizer.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(best_ms, 5000.0);
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
  EXPECT_LT(best_ms, 5000.0);
#else
  EXPECT_LT(best_ms, 250.0);
#endif
#else
  EXPECT_LT(best_ms, 250.0);
#endif
  std::remove(path.c_str());
}

TEST(Reload, ProfilesAreRebuiltOrTheReloadFails) {
  auto handle = FilterHandle::Create(Build(kA));
  ASSERT_TRUE(handle.ok());
  ProfileOptions po;
  po.disabled = {"ad_law.shared"};
  po.deny_terms = {"顶级"};
  ASSERT_TRUE((*handle)->SetProfile("shop-1", po).ok());
  auto scanner = LocalScanner::Create(*handle);
  ASSERT_TRUE(scanner.ok());
  auto with = scanner->Scan(kProbe, {}, "shop-1");
  ASSERT_TRUE(with.ok()) << with.status();
  EXPECT_EQ(Signature(*with), "ad_law.a@6;shop.shop_deny@15;");
  EXPECT_EQ(scanner->Scan(kProbe, {}, "no-such-shop").status().code(), absl::StatusCode::kNotFound);

  // A profile naming a rule the new rules lack: the reload fails, nothing changes.
  ProfileOptions strict;
  strict.disabled = {"ad_law.a"};
  ASSERT_TRUE((*handle)->SetProfile("shop-2", strict).ok());
  const uint64_t gen = (*handle)->generation();
  auto r = (*handle)->ReloadFromDictionaries({DictionarySource::Text("b.rules", kB)});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("shop-2"), std::string_view::npos) << r.status();
  EXPECT_EQ((*handle)->generation(), gen);
  // An invalid profile is refused up front.
  ProfileOptions broken;
  broken.enabled_categories = {"no_such_category"};
  EXPECT_EQ((*handle)->SetProfile("shop-3", broken).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE((*handle)->RemoveProfile("shop-2").ok());
  EXPECT_EQ((*handle)->RemoveProfile("shop-2").status().code(), absl::StatusCode::kNotFound);
  auto ok = (*handle)->ReloadFromDictionaries({DictionarySource::Text("b.rules", kB)});
  ASSERT_TRUE(ok.ok()) << ok.status();
  auto after = scanner->Scan(kProbe, {}, "shop-1");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(Signature(*after), "ad_law.b@15;shop.shop_deny@15;");
  EXPECT_EQ((*handle)->Current()->profile_names(), std::vector<std::string>{"shop-1"});
}

TEST(Reload, StreamInFlightFinishesOnItsRules) {
  auto handle = FilterHandle::Create(Build(kA));
  ASSERT_TRUE(handle.ok());
  ProfileOptions po;
  po.deny_terms = {"第一名"};
  ASSERT_TRUE((*handle)->SetProfile("shop", po).ok());
  auto scanner = LocalScanner::Create(*handle);
  ASSERT_TRUE(scanner.ok());
  auto stream = scanner->NewStream({}, "shop");
  ASSERT_TRUE(stream.ok()) << stream.status();
  ASSERT_TRUE(stream->Write("这是最佳的顶").ok());
  // Reload twice (the old snapshot and its profile are no longer referenced by the handle).
  ASSERT_TRUE((*handle)->ReloadFromDictionaries({DictionarySource::Text("b.rules", kB)}).ok());
  ASSERT_TRUE((*handle)->Reload(Build(kB)).ok());
  ASSERT_TRUE(scanner->Scan("refresh").ok());
  ASSERT_TRUE(stream->Write("级货，第一名").ok());
  ASSERT_TRUE(stream->Finish().ok());
  std::vector<Finding> fs(stream->findings().begin(), stream->findings().end());
  EXPECT_EQ(Signature(fs), "ad_law.a@6;ad_law.shared@27;shop.shop_deny@27;");
}

// Threads scan (block and stream) while another thread reloads between A and B (and sometimes
// fails to): every result must be exactly A's or B's, match the generation the scanner reports,
// and no scan may fail.
TEST(ReloadConcurrency, ScanningWhileReloading) {
  auto fa = Build(kA), fb = Build(kB);
  auto handle = FilterHandle::Create(fa);
  ASSERT_TRUE(handle.ok());
  const std::string sig_a = "ad_law.a@6;ad_law.shared@27;", sig_b = "ad_law.b@15;ad_law.shared@27;";
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0}, scans{0};
  auto worker = [&](int id) {
    auto scanner = LocalScanner::Create(*handle);
    if (!scanner.ok()) {
      ++errors;
      return;
    }
    uint64_t last_gen = 0;
    int n = 0;
    while (!stop.load() || n < 50) {
      std::string sig;
      uint64_t gen;
      if ((n + id) % 3 == 0) {
        auto stream = scanner->NewStream({});
        if (!stream.ok()) {
          ++errors;
          break;
        }
        gen = scanner->snapshot()->generation();
        for (size_t i = 0; i < kProbe.size(); i += 4) (void)stream->Write(kProbe.substr(i, 4));
        if (!stream->Finish().ok()) ++errors;
        std::vector<Finding> fs(stream->findings().begin(), stream->findings().end());
        sig = Signature(fs);
      } else {
        auto fs = scanner->Scan(kProbe);
        if (!fs.ok()) {
          ++errors;
          break;
        }
        gen = scanner->snapshot()->generation();
        sig = Signature(*fs);
      }
      // Odd generations serve A, even ones B (the reloader alternates; failures do not count).
      const std::string& want = gen % 2 == 1 ? sig_a : sig_b;
      if (sig != want || gen < last_gen) ++errors;
      last_gen = gen;
      ++n;
      ++scans;
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) threads.emplace_back(worker, i);
  int reloads = 0;
  for (int i = 0; i < 60; ++i) {
    auto gen = (*handle)->Reload(i % 2 == 0 ? fb : fa);
    if (!gen.ok()) ++errors;
    ++reloads;
    if (i % 10 == 0) {
      auto bad = (*handle)->ReloadFromDatabase("not a database");
      if (bad.ok()) ++errors;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ((*handle)->generation(), 1u + reloads);
  EXPECT_GT(scans.load(), 150);
}

// A LocalScanner is one thread's; one shared by two threads by mistake must fail cleanly
// (FailedPrecondition, "already in use") like a Scanner, not race: before the fix, one thread's
// Refresh() after a reload replaced the Scanner the other thread was scanning with (a use after
// free under ASan, a data race under TSan). Results are checked by count and offsets only: a
// finding's rule may belong to a snapshot the other thread's call has since released.
TEST(ReloadConcurrency, OneLocalScannerSharedByTwoThreadsFailsCleanly) {
  auto fa = Build(kA), fb = Build(kB);
  auto handle = FilterHandle::Create(fa);
  ASSERT_TRUE(handle.ok());
  auto shared = LocalScanner::Create(*handle);
  ASSERT_TRUE(shared.ok());
  constexpr int kReps = 4000;  // ~150 KB: a scan long enough for the calls to overlap
  std::string big;
  for (int i = 0; i < kReps; ++i) big += kProbe;
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0}, busy{0}, done{0};
  auto worker = [&](int id) {
    for (int n = 0; !stop.load(); ++n) {
      absl::Status st;
      if ((n + id) % 4 == 0) {
        auto stream = shared->NewStream({});
        st = stream.status();
        if (stream.ok() && !stream->Write(kProbe).ok()) ++errors;
      } else if ((n + id) % 4 == 1) {
        st = shared->Refresh();
      } else {
        auto fs = shared->Scan(big);
        st = fs.status();
        // A's first finding is at byte 6, B's at 15; two findings per probe either way.
        if (fs.ok() && (fs->size() != 2u * kReps ||
                        ((*fs)[0].bytes.begin != 6 && (*fs)[0].bytes.begin != 15)))
          ++errors;
      }
      if (st.code() == absl::StatusCode::kFailedPrecondition &&
          st.message().find("already in use") != absl::string_view::npos) {
        ++busy;
      } else if (st.ok()) {
        ++done;
      } else {
        ++errors;
      }
    }
  };
  std::thread t1(worker, 0), t2(worker, 1);
  // Reload until the two threads have met inside the scanner a few times (at most 60 s).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int i = 0; (busy.load() < 20 || done.load() < 20) &&
                  std::chrono::steady_clock::now() < deadline;
       ++i) {
    if (!(*handle)->Reload(i % 2 == 0 ? fb : fa).ok()) ++errors;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  stop = true;
  t1.join();
  t2.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GE(busy.load(), 20) << "the two threads never met inside the scanner";
  EXPECT_GE(done.load(), 20);
  // Used by one thread again, it works.
  auto fs = shared->Scan(kProbe);
  ASSERT_TRUE(fs.ok()) << fs.status();
  EXPECT_EQ(fs->size(), 2u);
}

}  // namespace
}  // namespace scriptqa
