#include "input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace scriptqa::cli {

namespace {

constexpr size_t kRawBlock = 256 << 10;

// A read of a regular file needs no more room than what is left of it, plus one byte to see its
// end: a small file then gets a small buffer, not 64–256 KiB of zero-filled string (the fuzz
// target of this reader spent most of its time zero-filling). At least 4 KiB, in case the file
// grows while it is read. `size` < 0: not a regular file, `n` unchanged.
size_t CapToFile(size_t n, int64_t size, uint64_t read_so_far) {
  if (size < 0) return n;
  const uint64_t left = static_cast<uint64_t>(size) > read_so_far ? size - read_so_far : 0;
  return static_cast<size_t>(std::min<uint64_t>(n, std::max<uint64_t>(left + 1, 4096)));
}

// Counts '\n' bytes eight at a time (SWAR): the reader counts every line of the archive.
size_t CountNewlinesSwar(const char* p, size_t n) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kLow7 = 0x7F7F7F7F7F7F7F7FULL;
  size_t count = 0, i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    uint64_t x = w ^ (kOnes * '\n');  // zero bytes where '\n' was
    // High bit set exactly for the zero bytes of x.
    uint64_t zero = ~(((x & kLow7) + kLow7) | x | kLow7);
    count += ((zero >> 7) * kOnes) >> 56;  // sum of the per-byte 0/1 flags
  }
  for (; i < n; ++i) count += p[i] == '\n';
  return count;
}

#if defined(__x86_64__) && defined(__GNUC__)
// The same, 32 bytes at a time; it runs on the reading thread, which every worker waits for, so
// its cost per byte matters more than its share of the CPU time says.
__attribute__((target("avx2,popcnt"))) size_t CountNewlinesAvx2(const char* p, size_t n) {
  const __m256i nl = _mm256_set1_epi8('\n');
  size_t count = 0, i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    count += static_cast<size_t>(
        __builtin_popcount(static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, nl)))));
  }
  return count + CountNewlinesSwar(p + i, n - i);
}

size_t CountNewlines(const char* p, size_t n) {
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
  return avx2 ? CountNewlinesAvx2(p, n) : CountNewlinesSwar(p, n);
}
#else
size_t CountNewlines(const char* p, size_t n) { return CountNewlinesSwar(p, n); }
#endif

}  // namespace

// RFC 4180 with the leniency of Python's csv module: a quote opens a quoted field only at the
// start of a field (a quote inside an unquoted field is text), and inside a quoted field "" is a
// quote. A quoted field may span lines. One that never closes — the end of the input comes first,
// or the closing quote is followed by text instead of a comma or a line end, or it passes the
// record limit — is a runaway: the record ends at the end of the line where the field opened, and
// reading resumes on the next line, so a stray quote costs one record, reported at its line.
size_t ScanCsv(const char* data, size_t from, size_t limit, CsvScan* s, bool first,
               size_t* resync) {
  size_t found = 0;
  for (size_t i = from; i < limit; ++i) {
    const char c = data[i];
    switch (s->state) {
      case CsvScan::kFieldStart:
      case CsvScan::kUnquoted:
        if (c == '"' && s->state == CsvScan::kFieldStart) {
          s->state = CsvScan::kQuoted;
          s->open_line_end = 0;
        } else if (c == ',') {
          s->state = CsvScan::kFieldStart;
        } else if (c == '\n') {
          s->state = CsvScan::kFieldStart;
          s->malformed = false;
          s->record_line_end = 0;
          found = i + 1;
          if (first) return found;
        } else if (c != '\r') {
          s->state = CsvScan::kUnquoted;
        }
        break;
      case CsvScan::kQuoted:
        if (c == '"') {
          s->state = CsvScan::kQuoteInQuoted;
        } else if (c == '\n' && s->malformed) {
          // A malformed record costs its own line only: it ends here, and reading resumes on the
          // next line in a fresh state.
          *resync = i + 1;
          *s = CsvScan();
          return found;
        } else if (c == '\n' && s->open_line_end == 0) {
          s->open_line_end = i + 1;
          if (s->record_line_end == 0) s->record_line_end = i + 1;
        }
        break;
      case CsvScan::kQuoteInQuoted:
        if (c == '"') {
          s->state = CsvScan::kQuoted;  // "" inside a quoted field
        } else if (c == ',') {
          s->state = CsvScan::kFieldStart;
        } else if (c == '\n') {
          s->state = CsvScan::kFieldStart;
          s->malformed = false;
          s->record_line_end = 0;
          found = i + 1;
          if (first) return found;
        } else if (c != '\r') {
          if (s->open_line_end != 0) {  // closed lines later, by a quote that was not its end
            // (The record's first line end, which is this field's or an earlier field's.)
            *resync = s->record_line_end != 0 ? s->record_line_end : s->open_line_end;
            s->state = CsvScan::kFieldStart;
            return found;
          }
          if (s->record_line_end != 0) {  // malformed after a field that spanned lines
            *resync = s->record_line_end;
            *s = CsvScan();
            return found;
          }
          s->state = CsvScan::kUnquoted;  // "a"b on one line: the parser reports the record
          s->malformed = true;
        }
        break;
    }
  }
  return found;
}

namespace {

}  // namespace

struct ChunkReader::Inflater {
  z_stream zs{};
  bool member_done = false;  // the last inflate() ended a gzip member
  ~Inflater() { inflateEnd(&zs); }
};

ChunkReader::~ChunkReader() {
  if (own_fd_ && fd_ >= 0) close(fd_);
}

absl::StatusOr<std::unique_ptr<ChunkReader>> ChunkReader::Open(const std::string& path,
                                                               InputFormat format,
                                                               size_t max_record_bytes) {
  std::unique_ptr<ChunkReader> r(new ChunkReader());
  r->format_ = format;
  r->max_record_ = std::max<size_t>(max_record_bytes, 1024);
  if (path == "-") {
    r->fd_ = STDIN_FILENO;
  } else {
    r->fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (r->fd_ < 0) return absl::NotFoundError(absl::StrCat(path, ": ", strerror(errno)));
    r->own_fd_ = true;
    struct stat st;
    if (fstat(r->fd_, &st) == 0 && S_ISREG(st.st_mode)) r->raw_size_ = st.st_size;
    if (fstat(r->fd_, &st) == 0 && S_ISDIR(st.st_mode))
      return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory"));
  }
  // Sniff gzip from the first bytes.
  const size_t first = std::max<size_t>(CapToFile(kRawBlock, r->raw_size_, 0), 2);
  r->raw_.resize(first);
  ssize_t n;
  size_t got = 0;
  while (got < 2) {
    do n = read(r->fd_, r->raw_.data() + got, first - got);
    while (n < 0 && errno == EINTR);
    if (n < 0) return absl::DataLossError(absl::StrCat(path, ": ", strerror(errno)));
    if (n == 0) break;
    got += n;
  }
  r->raw_.resize(got);
  r->raw_read_ = got;
  if (got >= 2 && static_cast<unsigned char>(r->raw_[0]) == 0x1f &&
      static_cast<unsigned char>(r->raw_[1]) == 0x8b) {
    r->gzip_ = true;
    r->inflater_ = std::make_unique<Inflater>();
    if (inflateInit2(&r->inflater_->zs, 16 + MAX_WBITS) != Z_OK)
      return absl::ResourceExhaustedError("zlib: cannot initialise");
  } else {
    r->buf_ = std::move(r->raw_);
    r->raw_.clear();
    r->len_ = got;
    r->buf_.resize(got + kChunkPadding);
    if (got == 0) r->eof_ = true;
  }
  // A UTF-8 byte order mark is not part of the first record. (Three bytes are needed: a small
  // read, not a 256 KiB zero-filled buffer for each gzip file.)
  while (!r->eof_ && r->len_ < 3 && r->Fill(4096)) {
  }
  if (r->len_ >= 3 && memcmp(r->buf_.data(), "\xEF\xBB\xBF", 3) == 0) r->Consume(3);
  if (format == InputFormat::kAuto) {
    // Standard input and files without a telling extension: look at the first line.
    while (!r->eof_ && r->len_ < 4096 && memchr(r->buf_.data(), '\n', r->len_) == nullptr &&
           r->Fill(4096)) {
    }
    std::string_view head(r->buf_.data(), r->len_);
    size_t first = head.find_first_not_of(" \t\r\n");
    size_t line_end = std::min(head.find('\n'), head.size());
    if (first != std::string_view::npos && head[first] == '{') {
      format = InputFormat::kJsonl;
    } else if (head.substr(0, line_end).find(',') != std::string_view::npos) {
      format = InputFormat::kCsv;
    } else {
      format = InputFormat::kJsonl;
    }
    r->format_ = format;
  }
  if (format == InputFormat::kCsv) {
    Chunk first;
    if (r->Next(1, &first) && !first.oversized) {
      size_t pos = 0, count = 0;
      std::string error;
      if (!ParseCsvRecord(first.data, &pos, &r->header_, &count, &error))
        return absl::InvalidArgumentError(absl::StrCat(path, ":1: CSV header: ", error));
      r->header_.resize(count);
      // Only the header: give back what followed it.
      size_t rest = first.data.size() - pos;
      r->Reserve(rest);
      memmove(r->buf_.data() + rest, r->buf_.data(), r->len_);
      memcpy(r->buf_.data(), first.data.data() + pos, rest);
      r->len_ += rest;
      r->scanned_ = 0;
      r->last_boundary_ = 0;
      r->forced_cut_ = 0;
      r->csv_ = CsvScan();
      r->line_ = 1 + CountNewlines(first.data.data(), pos);
    }
    if (!r->status_.ok()) return r->status_;
  }
  return r;
}

void ChunkReader::Reserve(size_t n) {
  size_t need = len_ + n + kChunkPadding;
  if (buf_.size() >= need) return;
  if (need <= buf_.capacity()) {
    // Zero-fills only [size, need): a recycled chunk buffer comes back with its size at its old
    // cut, a few hundred bytes short of what a read needs. (Growing to the capacity instead
    // zero-filled up to half a megabyte per chunk.)
    buf_.resize(need);
    return;
  }
  // Grow geometrically, copying only the live bytes (string::resize would copy all of them).
  std::string bigger;
  bigger.resize(std::max(need, buf_.capacity() + buf_.capacity() / 2));
  memcpy(bigger.data(), buf_.data(), len_);
  buf_.swap(bigger);
}

void ChunkReader::Consume(size_t n) {
  memmove(buf_.data(), buf_.data() + n, len_ - n);
  len_ -= n;
}

bool ChunkReader::Fill(size_t n) {
  if (eof_ || !status_.ok()) return false;
  if (!gzip_) n = CapToFile(n, raw_size_, raw_read_);
  Reserve(n);
  if (!gzip_) {
    ssize_t r;
    do r = read(fd_, buf_.data() + len_, n);
    while (r < 0 && errno == EINTR);
    if (r < 0) status_ = absl::DataLossError(strerror(errno));
    len_ += std::max<ssize_t>(r, 0);
    if (r <= 0) eof_ = true;
    raw_read_ += std::max<ssize_t>(r, 0);
    return r > 0;
  }
  z_stream& zs = inflater_->zs;
  size_t produced = 0;
  while (produced == 0) {
    if (raw_pos_ >= raw_.size()) {
      raw_.resize(CapToFile(kRawBlock, raw_size_, raw_read_));
      ssize_t r;
      do r = read(fd_, raw_.data(), raw_.size());
      while (r < 0 && errno == EINTR);
      if (r < 0) status_ = absl::DataLossError(strerror(errno));
      raw_.resize(std::max<ssize_t>(r, 0));
      raw_pos_ = 0;
      raw_read_ += raw_.size();
      if (r <= 0) {
        if (status_.ok() && !inflater_->member_done)
          status_ = absl::DataLossError("gzip data ends in the middle of a stream (truncated)");
        eof_ = true;
        break;
      }
    }
    if (inflater_->member_done) {  // more data after a member: the next member
      inflateReset(&zs);
      inflater_->member_done = false;
    }
    zs.next_in = reinterpret_cast<Bytef*>(raw_.data() + raw_pos_);
    zs.avail_in = static_cast<uInt>(raw_.size() - raw_pos_);
    zs.next_out = reinterpret_cast<Bytef*>(buf_.data() + len_ + produced);
    zs.avail_out = static_cast<uInt>(n - produced);
    int ret = inflate(&zs, Z_NO_FLUSH);
    produced = n - zs.avail_out;
    raw_pos_ = raw_.size() - zs.avail_in;
    if (ret == Z_STREAM_END) {
      inflater_->member_done = true;
    } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
      status_ = absl::DataLossError(
          absl::StrCat("corrupt gzip data: ", zs.msg != nullptr ? zs.msg : "inflate failed"));
      eof_ = true;
      break;
    }
  }
  len_ += produced;
  return produced > 0;
}

size_t ChunkReader::LastBoundary(size_t limit) {
  if (format_ == InputFormat::kJsonl) {
    const void* nl = memrchr(buf_.data(), '\n', limit);
    return nl == nullptr ? 0 : static_cast<const char*>(nl) - buf_.data() + 1;
  }
  if (forced_cut_ != 0) return forced_cut_;
  size_t resync = 0;
  size_t found = ScanCsv(buf_.data(), scanned_, limit, &csv_, /*first=*/false, &resync);
  if (found != 0) last_boundary_ = found;
  scanned_ = limit;
  if (resync != 0) ForceCut(resync);
  return forced_cut_ != 0 ? forced_cut_ : last_boundary_;
}

void ChunkReader::ForceCut(size_t at) {
  // The runaway record ends at `at` and is the chunk's last, so that the parser, which sees the
  // chunk's end there, cuts it at the same place; reading resumes at `at` in a fresh state.
  forced_cut_ = at;
  last_boundary_ = at;
  scanned_ = at;
  csv_ = CsvScan();
}

bool ChunkReader::Next(size_t target, Chunk* chunk) {
  chunk->oversized = false;
  chunk->truncated = false;
  chunk->skipped_lines = 0;
  const size_t read_size =
      gzip_ ? std::max<size_t>(target, 64 << 10)
            : CapToFile(std::max<size_t>(target, 64 << 10), raw_size_, raw_read_);
  while (true) {
    // A read or decode error ends the input like its end (eof_): what was decoded before it is
    // still handed out, record by record, and status() says why the input ended.
    if (format_ == InputFormat::kCsv && forced_cut_ == 0) LastBoundary(len_);
    if (len_ >= target || eof_ || forced_cut_ != 0) {
      size_t cut = LastBoundary(len_);
      if (eof_ && cut < len_ && format_ == InputFormat::kCsv && forced_cut_ == 0 &&
          csv_.state == CsvScan::kQuoted && csv_.open_line_end != 0) {
        ForceCut(csv_.open_line_end);  // the input ends inside a quoted field that spans lines
        cut = forced_cut_;
      }
      if (eof_ && cut < len_ && cut == 0) {
        cut = len_;  // the last record has no newline
        chunk->truncated = !status_.ok();
      }
      if (cut > 0) {
        // The chunk takes the buffer; the partial record after the cut moves to the chunk's old
        // buffer, which becomes ours.
        std::swap(chunk->data, buf_);
        size_t tail = len_ - cut;
        len_ = 0;  // buf_ holds nothing live: Reserve copies nothing
        Reserve(tail + read_size);
        memcpy(buf_.data(), chunk->data.data() + cut, tail);
        len_ = tail;
        chunk->data.resize(cut);  // shrinking keeps the capacity: >= cut + kChunkPadding
        if (format_ == InputFormat::kCsv) {
          scanned_ -= std::min(scanned_, cut);
          last_boundary_ = 0;
          forced_cut_ = 0;
          if (csv_.open_line_end != 0) csv_.open_line_end -= cut;
          if (csv_.record_line_end != 0) csv_.record_line_end -= std::min(csv_.record_line_end, cut);
        }
        chunk->first_line = line_;
        line_ += CountNewlines(chunk->data.data(), cut);
        return true;
      }
      if (eof_) {
        chunk->data.clear();
        return false;
      }
      if (len_ >= max_record_) {
        // One record longer than the limit. A quoted field that spans lines and has not closed by
        // then is a runaway (a stray quote), not a long record: resynchronise after its line.
        if (format_ == InputFormat::kCsv && csv_.state == CsvScan::kQuoted &&
            csv_.open_line_end != 0) {
          ForceCut(csv_.open_line_end);
          continue;
        }
        break;
      }
    }
    Fill(std::min(read_size, max_record_ + 1 - std::min(len_, max_record_)));
  }
  // Skip the oversized record up to the end of its line, keeping memory bounded.
  chunk->data.clear();
  chunk->oversized = true;
  chunk->first_line = line_;
  uint64_t lines = CountNewlines(buf_.data(), len_);
  len_ = 0;
  scanned_ = last_boundary_ = forced_cut_ = 0;
  csv_ = CsvScan();
  while (true) {
    if (!Fill(read_size)) break;
    const void* nl = memchr(buf_.data(), '\n', len_);
    size_t end = nl == nullptr ? 0 : static_cast<const char*>(nl) - buf_.data() + 1;
    if (end != 0) {
      lines += CountNewlines(buf_.data(), end);
      Consume(end);
      break;
    }
    lines += CountNewlines(buf_.data(), len_);
    len_ = 0;
  }
  chunk->skipped_lines = std::max<uint64_t>(lines, 1);
  line_ += lines;
  return true;
}

bool ParseCsvRecord(std::string_view data, size_t* pos, std::vector<std::string>* fields,
                    size_t* field_count, std::string* error) {
  size_t start = *pos;
  CsvScan scan;
  size_t resync = 0;
  size_t rec_end = ScanCsv(data.data(), start, data.size(), &scan, /*first=*/true, &resync);
  if (resync != 0) {
    rec_end = resync;
  } else if (rec_end == 0) {
    // The end of the data: a runaway quoted field ends with the line where it opened (the reader
    // cut the chunk there), anything else with the data.
    rec_end = scan.state == CsvScan::kQuoted && scan.open_line_end != 0 ? scan.open_line_end
                                                                        : data.size();
  }
  *pos = rec_end;
  // A malformed record costs its own line only: reading resumes on the line after its first one,
  // whatever quoted field the scan above took as spanning lines.
  auto malformed = [&](size_t fields_read) {
    *field_count = fields_read;
    const size_t nl = data.find('\n', start);
    if (nl != std::string_view::npos && nl + 1 < *pos) *pos = nl + 1;
    return false;
  };
  // The record without its line end.
  size_t end = rec_end;
  if (end > start && data[end - 1] == '\n') --end;
  if (end > start && data[end - 1] == '\r') --end;
  size_t n = 0;
  size_t p = start;
  while (true) {
    if (fields->size() <= n) fields->emplace_back();
    std::string& f = (*fields)[n++];
    f.clear();
    if (p < end && data[p] == '"') {
      ++p;
      while (true) {
        size_t qpos = data.find('"', p);
        if (qpos == std::string_view::npos || qpos >= end) {
          *error = absl::StrCat("unterminated quoted field ", n,
                                " (its quote opens on this line and never closes; reading "
                                "resumes on the next line)");
          return malformed(n);
        }
        f.append(data.data() + p, qpos - p);
        p = qpos + 1;
        if (p < end && data[p] == '"') {
          f.push_back('"');
          ++p;
          continue;
        }
        break;
      }
      if (p < end && data[p] != ',') {
        *error = absl::StrCat("unexpected character after a closing quote in field ", n);
        return malformed(n);
      }
    } else {
      size_t comma = data.find(',', p);
      size_t fend = (comma == std::string_view::npos || comma > end) ? end : comma;
      f.append(data.data() + p, fend - p);
      p = fend;
    }
    if (p < end && data[p] == ',') {
      ++p;
      continue;
    }
    break;
  }
  *field_count = n;
  return true;
}

}  // namespace scriptqa::cli
