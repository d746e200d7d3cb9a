// Fuzz target: the CLI's transcript reader (tools/cli/input.h): ChunkReader over plain or gzip
// JSONL/CSV, ParseCsvRecord, and the timestamps it reads (scriptqa::ParseTimestamp).
//   * never crashes, hangs or leaks; errors are statuses (CSV header, corrupt or truncated gzip);
//   * chunks hold whole records and the padding simdjson needs; their concatenation, with the
//     skipped oversized records, is the decoded input (minus BOM and CSV header); line numbers
//     add up;
//   * ParseCsvRecord always advances (no endless loop on any record), and a record it cannot parse
//     spans at most one line (a stray or unterminated quote is resynchronised at the next line).
// Input: byte 0 format/gzip/damage, byte 1 chunk target, byte 2 record limit, then the payload.
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>

#include "fuzz_util.h"
#include "input.h"
#include "scriptqa/conversation.h"

namespace scriptqa::fuzz {
namespace {

std::string Gzip(const std::string& in, int level) {
  // One deflate state per process, reset for each call: deflateInit2 allocates and clears about
  // 260 KB of state, which was most of this target's cost outside the reader.
  static z_stream* const zs = [] {
    auto* z = new z_stream{};
    if (deflateInit2(z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
      std::abort();
    return z;
  }();
  // After a reset no data is pending, so deflateParams only sets the level.
  if (deflateReset(zs) != Z_OK || deflateParams(zs, level, Z_DEFAULT_STRATEGY) != Z_OK)
    std::abort();
  std::string out(deflateBound(zs, in.size()) + 32, '\0');
  zs->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs->avail_in = static_cast<uInt>(in.size());
  zs->next_out = reinterpret_cast<Bytef*>(out.data());
  zs->avail_out = static_cast<uInt>(out.size());
  if (deflate(zs, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(zs->total_out);
  return out;
}

// One memory file per process, rewritten for each input; opened by path like a user's file.
int MemFd() {
  static int fd = memfd_create("scriptqa-fuzz-input", 0);
  if (fd < 0) std::abort();
  return fd;
}

}  // namespace
}  // namespace scriptqa::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace scriptqa;
  using namespace scriptqa::fuzz;
  using scriptqa::cli::Chunk;
  using scriptqa::cli::ChunkReader;
  using scriptqa::cli::InputFormat;
  if (size > (1 << 16)) return 0;
  Input in(data, size);
  const uint8_t sel = in.Byte();
  const size_t target = 1 + in.Byte() * 16;
  const size_t max_record = 1024 + in.Byte() * 8;
  const std::string payload = in.Rest();
  const InputFormat format = (sel & 1) ? InputFormat::kCsv : InputFormat::kJsonl;
  const bool gzip = (sel & 2) != 0;
  std::string file = payload;
  // A plain file that starts with the gzip magic is read as gzip: any outcome is allowed.
  bool damaged = !gzip && payload.size() >= 2 && static_cast<unsigned char>(payload[0]) == 0x1f &&
                 static_cast<unsigned char>(payload[1]) == 0x8b;
  if (gzip) {
    file = Gzip(payload, (sel >> 5) % 10);
    if (sel & 4) {  // a second member
      file += Gzip(payload.substr(0, payload.size() / 2), 1);
    }
    if ((sel & 8) && !file.empty()) {  // truncated
      file.resize(file.size() - 1 - (payload.size() % std::min<size_t>(file.size(), 40)));
      damaged = true;
    }
    if ((sel & 16) && file.size() > 12) {  // a damaged byte in the deflate data or trailer
      file[10 + payload.size() % (file.size() - 10)] ^= 0x55;
      damaged = true;
    }
  }
  const int fd = MemFd();
  if (ftruncate(fd, 0) != 0 || pwrite(fd, file.data(), file.size(), 0) !=
                                   static_cast<ssize_t>(file.size()))
    std::abort();
  const std::string path = "/proc/self/fd/" + std::to_string(fd);

  absl::StatusOr<std::unique_ptr<ChunkReader>> r = ChunkReader::Open(path, format, max_record);
  if (!r.ok()) {
    const absl::StatusCode c = r.status().code();
    FUZZ_CHECK(c == absl::StatusCode::kInvalidArgument || c == absl::StatusCode::kDataLoss,
               "Open: code %d %s", static_cast<int>(c), std::string(r.status().message()).c_str());
    FUZZ_CHECK(c != absl::StatusCode::kDataLoss || damaged || (gzip && payload.empty()),
               "Open: intact gzip reported as damaged: %s", std::string(r.status().message()).c_str());
    return 0;
  }
  ChunkReader& reader = **r;
  std::string joined;  // records handed out, oversized ones left out
  bool any_oversized = false;
  uint64_t expect_line = 0;
  Chunk chunk;
  std::vector<std::string> fields;
  size_t chunks = 0;
  while (reader.Next(target, &chunk)) {
    FUZZ_CHECK(++chunks <= file.size() * 64 + 16, "too many chunks");
    if (expect_line != 0)
      FUZZ_CHECK(chunk.first_line == expect_line, "chunk starts at line %llu, expected %llu",
                 static_cast<unsigned long long>(chunk.first_line),
                 static_cast<unsigned long long>(expect_line));
    if (chunk.oversized) {
      FUZZ_CHECK(chunk.data.empty() && chunk.skipped_lines >= 1, "oversized chunk with data");
      any_oversized = true;
      expect_line = chunk.first_line + chunk.skipped_lines;
      continue;
    }
    FUZZ_CHECK(!chunk.data.empty(), "empty chunk");
    FUZZ_CHECK(chunk.data.capacity() >= chunk.data.size() + cli::kChunkPadding,
               "chunk without padding: %zu of %zu", chunk.data.capacity(), chunk.data.size());
    expect_line = chunk.first_line + std::count(chunk.data.begin(), chunk.data.end(), '\n');
    joined += chunk.data;
    if (format == InputFormat::kCsv) {
      size_t pos = 0, count = 0;
      while (pos < chunk.data.size()) {
        size_t before = pos;
        std::string error;
        bool ok = cli::ParseCsvRecord(chunk.data, &pos, &fields, &count, &error);
        FUZZ_CHECK(pos > before && pos <= chunk.data.size(), "ParseCsvRecord did not advance");
        FUZZ_CHECK(ok || !error.empty(), "ParseCsvRecord failed without an error");
        // Resynchronisation: a malformed record (a stray quote) costs at most its own line; only
        // a well-formed quoted field spans lines.
        const size_t lines = std::count(chunk.data.begin() + before, chunk.data.begin() + pos, '\n');
        FUZZ_CHECK(ok || lines <= 1, "a malformed CSV record spans %zu lines", lines);
        FUZZ_CHECK(count >= 1 && count <= fields.size(), "field count %zu", count);
        for (size_t i = 0; i < count && i < 8; ++i) (void)ParseTimestamp(fields[i]);
      }
    }
  }
  if (!reader.status().ok()) {
    FUZZ_CHECK(reader.status().code() == absl::StatusCode::kDataLoss,
               "read error code %d: %s", static_cast<int>(reader.status().code()),
               std::string(reader.status().message()).c_str());
    FUZZ_CHECK(damaged, "intact input reported as damaged: %s",
               std::string(reader.status().message()).c_str());
    return 0;
  }
  if (!damaged && !any_oversized) {
    // What a reader of the whole file sees: the decoded bytes minus a BOM (and the CSV header).
    std::string decoded = gzip && (sel & 4) ? payload + payload.substr(0, payload.size() / 2) : payload;
    if (decoded.compare(0, 3, "\xEF\xBB\xBF") == 0) decoded.erase(0, 3);
    if (format == InputFormat::kJsonl) {
      FUZZ_CHECK(joined == decoded, "chunks (%zu bytes) are not the input (%zu bytes)",
                 joined.size(), decoded.size());
    } else {
      FUZZ_CHECK(decoded.size() >= joined.size() &&
                     decoded.compare(decoded.size() - joined.size(), joined.size(), joined) == 0,
                 "CSV chunks are not the input's tail");
    }
  }
  (void)ParseTimestamp(std::string_view(payload).substr(0, 64));
  return 0;
}
