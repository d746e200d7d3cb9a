// The engine self-test (filter_impl.h): a bounded regex scanned over a realistic agent message
// placed at each of 64 byte offsets in one buffer. Vectorscan 5.4.9's AVX-512 runtime found this
// match at 23 of the 64 offsets (docs/design.md, "Hyperscan, and Vectorscan only where ..."); a
// correct engine finds it at all. About 0.5 ms, once per process.
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "filter_impl.h"

namespace scriptqa::internal {
namespace {

absl::Status RunSelfTest() {
  // Normalised text, as the scanner hands it to the engine: "…您的邮箱是zhangsan1988@qqcom对吗".
  static constexpr char kText[] =
      "亲您好发票已经为您开具好了电子发票会在二十四小时之内发送到您预留的邮箱您的邮箱是"
      "zhangsan1988@qqcom对吗";
  static constexpr char kPattern[] = "\\d{2,40}@";
  constexpr size_t kOffsets = 64;
  hs_database_t* raw_db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_error_t rc = hs_compile(kPattern, HS_FLAG_UTF8, HS_MODE_BLOCK, nullptr, &raw_db, &err);
      rc != HS_SUCCESS) {
    return absl::FailedPreconditionError(absl::StrCat(
        "regex engine self-test: cannot compile its pattern: ", TakeCompileError(err, rc)));
  }
  DatabasePtr db(raw_db);
  hs_scratch_t* raw_scratch = nullptr;
  if (hs_alloc_scratch(db.get(), &raw_scratch) != HS_SUCCESS)
    return absl::FailedPreconditionError("regex engine self-test: cannot allocate scratch space");
  ScratchPtr scratch(raw_scratch);
  const size_t len = sizeof kText - 1;
  std::string buffer(len + kOffsets + 64, '\0');
  // From a 64-byte boundary inside the buffer, so that the offsets cover every alignment.
  const size_t base = (64 - reinterpret_cast<uintptr_t>(buffer.data()) % 64) % 64;
  size_t missed = 0;
  for (size_t off = 0; off < kOffsets; ++off) {
    char* at = buffer.data() + base + off;
    std::memcpy(at, kText, len);
    unsigned matches = 0;
    auto on_match = [](unsigned, unsigned long long, unsigned long long, unsigned,
                       void* ctx) -> int {
      ++*static_cast<unsigned*>(ctx);
      return 0;
    };
    const hs_error_t rc = hs_scan(db.get(), at, static_cast<unsigned>(len), 0, scratch.get(),
                                  on_match, &matches);
    if (rc != HS_SUCCESS)
      return absl::FailedPreconditionError(
          absl::StrCat("regex engine self-test: scan failed: ", HsErrorName(rc)));
    if (matches == 0) ++missed;
    std::memset(at, 0, len);
  }
  if (missed > 0)
    return absl::FailedPreconditionError(absl::StrCat(
        "the regex engine (", hs_version(), ") misses matches on this CPU: a known match was found at ",
        kOffsets - missed, " of ", kOffsets,
        " buffer offsets (Debian 12's Vectorscan 5.4.9 does this with AVX-512); rebuild scriptqa "
        "against Hyperscan (libhyperscan-dev) or a Vectorscan with the fix (docs/design.md)"));
  return absl::OkStatus();
}

}  // namespace

const absl::Status& EngineSelfTest() {
  static const absl::Status* const status = new absl::Status(RunSelfTest());
  return *status;
}

}  // namespace scriptqa::internal
