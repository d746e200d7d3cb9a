// Fuzz target: StreamScanner against Scanner::Scan on fuzzer-chosen chunkings.
//   * after Finish(), findings() are exactly Scan's (rule, spans, severity, order);
//   * every finding is reported once, only findings Scan gives, and none after any of its bytes
//     was released; releasable never decreases, never exceeds the text, never splits a
//     character, and equals the size after Finish();
//   * with InvalidUtf8::kReject, the stream fails exactly when Scan does, with the same error;
//     a message Scan refuses for its expansion (ResourceExhausted) is refused by the stream too.
// Input: byte 0 options, byte 1 filter, byte 2 the number k of chunk sizes, k bytes of sizes
// (used in turn, cycling), then the message.
#include <algorithm>

#include "fuzz_util.h"
#include "scriptqa/stream.h"

namespace scriptqa::fuzz {
namespace {

struct Setup {
  std::shared_ptr<const Filter> filter;
  std::shared_ptr<const Profile> profile;
  std::unique_ptr<Scanner> scanner;
};

Setup Make(std::shared_ptr<const Filter> f) {
  Setup s;
  s.filter = f;
  ProfileOptions po;
  po.allow_terms = {"最好的服务", "第一时间为您处理", "微信支付"};
  po.deny_terms = {"拼多多", "淘宝店", "某宝", "ab"};
  po.severity_overrides = {{"ad_law", Severity::kBlock}};
  auto p = Profile::Create(f, po);
  if (!p.ok()) std::abort();
  s.profile = *p;
  auto sc = Scanner::Create(f);
  FUZZ_CHECK(sc.ok(), "Scanner::Create: %s", std::string(sc.status().message()).c_str());
  s.scanner = std::make_unique<Scanner>(std::move(*sc));
  return s;
}

std::vector<Setup>& Setups() {
  static std::vector<Setup>* setups = [] {
    auto* v = new std::vector<Setup>();
    v->push_back(Make(DefaultFilter()));
    v->push_back(Make(CoreFilter()));
    FilterOptions o;
    o.normalization.collapse_repeats = true;
    v->push_back(Make(CoreFilter(o)));
    return v;
  }();
  return *setups;
}

bool Same(const Finding& a, const Finding& b) {
  return a.rule == b.rule && a.bytes == b.bytes && a.chars == b.chars && a.severity == b.severity;
}

}  // namespace
}  // namespace scriptqa::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace scriptqa;
  using namespace scriptqa::fuzz;
  if (size > (1 << 14)) return 0;
  Input in(data, size);
  const uint8_t opt = in.Byte();
  auto& setups = Setups();
  Setup& s = setups[in.Byte() % setups.size()];
  std::vector<size_t> sizes;
  for (size_t k = in.Byte() % 16; k > 0; --k) sizes.push_back(1 + in.Byte());
  if (sizes.empty()) sizes.push_back(1);
  const std::string text = in.Rest();

  StreamOptions so;
  static const size_t kBatch[] = {0, 1, 2, 5, 32, 64, 4096, 32};
  so.min_scan_bytes = kBatch[opt & 7];
  so.scan.overlap = (opt & 8) ? Overlap::kAll : Overlap::kLongestPerCategory;
  so.scan.min_severity = (opt & 16) ? Severity::kReview : Severity::kAdvice;
  if (opt & 32) so.profile = s.profile;
  const bool reject = (opt & 64) != 0;
  so.scan.invalid_utf8 = reject ? InvalidUtf8::kReject : InvalidUtf8::kRepair;

  ScanOptions block_opts = so.scan;
  block_opts.profile = so.profile.get();
  absl::StatusOr<std::vector<Finding>> block = s.scanner->Scan(text, block_opts);

  absl::StatusOr<StreamScanner> created = StreamScanner::Create(s.filter, so);
  FUZZ_CHECK(created.ok(), "StreamScanner::Create: %s",
             std::string(created.status().message()).c_str());
  StreamScanner& stream = *created;
  // Twice: a fresh stream, and the same one after Reset() (state must not leak between messages).
  for (int round = 0; round < 2; ++round) {
    if (round == 1) stream.Reset();
    const std::vector<int64_t> chars = CharIndex(text);
    std::vector<Finding> early;  // copies; they view `text` through stream.text()
    size_t released = 0;
    absl::Status failure;
    auto check_update = [&](const StreamUpdate& u) {
      for (const Finding& f : u.new_findings) {
        FUZZ_CHECK(f.bytes.begin >= released,
                   "finding %s reported after byte %zu was released; text %s",
                   Describe(f).c_str(), released, Hex(text).c_str());
        early.push_back(f);
      }
      FUZZ_CHECK(u.releasable >= released && u.releasable <= stream.text().size(),
                 "releasable %zu (was %zu, text %zu); text %s", u.releasable, released,
                 stream.text().size(), Hex(text).c_str());
      FUZZ_CHECK(chars[u.releasable] >= 0, "releasable %zu splits a character; text %s",
                 u.releasable, Hex(text).c_str());
      released = u.releasable;
    };
    size_t pos = 0, k = 0;
    while (pos < text.size() && failure.ok()) {
      size_t n = std::min(sizes[k++ % sizes.size()], text.size() - pos);
      absl::StatusOr<StreamUpdate> u = stream.Write(std::string_view(text).substr(pos, n));
      pos += n;
      if (!u.ok()) {
        failure = u.status();
        break;
      }
      check_update(*u);
    }
    absl::StatusOr<StreamUpdate> last;
    if (failure.ok()) {
      last = stream.Finish();
      if (!last.ok()) failure = last.status();
    }
    // The expansion bound (ResourceExhausted) is applied by the stream to every prefix (stream.h):
    // it may refuse a message whose expansion comes first although Scan accepts it, and its error
    // names the prefix. A message Scan refuses for its expansion, the stream must refuse, for its
    // expansion or for an invalid byte it met first (Scan checks the expansion first).
    constexpr auto kExhausted = absl::StatusCode::kResourceExhausted;
    if (!failure.ok() && failure.code() == kExhausted) continue;
    if (!block.ok() && block.status().code() == kExhausted) {
      FUZZ_CHECK(!failure.ok() && reject && failure.code() == absl::StatusCode::kInvalidArgument,
                 "Scan refused the expansion but the stream %s; text %s",
                 failure.ok() ? "did not" : std::string(failure.message()).c_str(),
                 Hex(text).c_str());
      continue;
    }
    if (!block.ok()) {
      FUZZ_CHECK(!failure.ok() && failure == block.status(),
                 "Scan failed (%s) but the stream %s; text %s",
                 std::string(block.status().message()).c_str(),
                 failure.ok() ? "did not" : std::string(failure.message()).c_str(),
                 Hex(text).c_str());
      // A failed stream refuses further writes until Reset().
      absl::StatusOr<StreamUpdate> again = stream.Write("x");
      FUZZ_CHECK(!again.ok(), "a failed stream accepted another chunk");
      continue;
    }
    FUZZ_CHECK(failure.ok(), "stream failed: %s; text %s", std::string(failure.message()).c_str(),
               Hex(text).c_str());
    check_update(*last);
    FUZZ_CHECK(last->finished && last->releasable == text.size(), "Finish: releasable %zu of %zu",
               last->releasable, text.size());
    FUZZ_CHECK(stream.text() == text, "text() differs from what was written");
    std::vector<Finding> fin(stream.findings().begin(), stream.findings().end());
    bool same = fin.size() == block->size();
    for (size_t i = 0; same && i < fin.size(); ++i) same = Same(fin[i], (*block)[i]);
    FUZZ_CHECK(same, "stream %s != block %s; chunks of %zu.. bytes, batch %zu; text %s",
               Describe(fin).c_str(), Describe(*block).c_str(), sizes[0], so.min_scan_bytes,
               Hex(text).c_str());
    // Each finding reported exactly once.
    FUZZ_CHECK(early.size() == fin.size(), "%zu findings reported along the way, %zu at the end: %s vs %s; text %s",
               early.size(), fin.size(), Describe(early).c_str(), Describe(fin).c_str(),
               Hex(text).c_str());
    for (const Finding& f : early) {
      bool found = std::any_of(fin.begin(), fin.end(), [&](const Finding& g) { return Same(f, g); });
      FUZZ_CHECK(found, "reported %s, which Scan does not give; text %s", Describe(f).c_str(),
                 Hex(text).c_str());
    }
    for (const Finding& f : fin) CheckFinding(f, stream.text(), chars, "stream");
  }
  return 0;
}
