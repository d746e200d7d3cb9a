// Transcript input for `scriptqa audit`: files or stdin, plain or gzip, JSONL or CSV, read in
// chunks that end on record boundaries so that workers can parse them independently and memory
// stays bounded whatever the size of the archive.
#ifndef SCRIPTQA_TOOLS_CLI_INPUT_H_
#define SCRIPTQA_TOOLS_CLI_INPUT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace scriptqa::cli {

// kAuto: decided by ChunkReader::Open from the first bytes (JSONL when the first non-blank byte
// is '{', else CSV when the first line has a comma, else JSONL).
enum class InputFormat : uint8_t { kJsonl, kCsv, kAuto };

// Bytes readable past the end of a chunk's data (simdjson reads up to 64 bytes ahead).
inline constexpr size_t kChunkPadding = 64;

// A run of whole records of one input.
struct Chunk {
  std::string data;         // whole records; capacity() >= size() + kChunkPadding
  uint64_t first_line = 1;  // physical line number (1-based) of the first record
  // A record longer than the limit was skipped: `data` is empty and the chunk stands for that one
  // record, which spanned `skipped_lines` physical lines.
  bool oversized = false;
  uint64_t skipped_lines = 0;
  // The input ended with a read or decode error inside the chunk's last record, which is
  // incomplete (ChunkReader::status() says why).
  bool truncated = false;
};

// The CSV record-boundary state machine (input.cc, ScanCsv).
struct CsvScan {
  enum State : uint8_t { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted };
  State state = kFieldStart;
  // In a quoted field: the position after the first line end inside it, 0 while there is none.
  size_t open_line_end = 0;
  // The record has a character after a closing quote ("a"b): it is malformed and ends with its
  // line, even inside a quoted field opened after that.
  bool malformed = false;
  // The position after the record's first line end inside a quoted field, 0 while there is none:
  // where a record found malformed later ends (a malformed record costs its own line only).
  size_t record_line_end = 0;
};

// Scans data[from, limit) from state *s for record boundaries: returns the position after the
// first (`first`) or last one found, 0 if none. A runaway quoted field (see input.cc) stops the
// scan and sets *resync to the position after the line where the field opened.
size_t ScanCsv(const char* data, size_t from, size_t limit, CsvScan* s, bool first,
               size_t* resync);

// Reads one input. Gzip is recognised by its magic bytes (concatenated members are read in turn);
// anything else is read as is.
class ChunkReader {
 public:
  // `path` "-" is standard input. For CSV the header line is consumed here (header()).
  static absl::StatusOr<std::unique_ptr<ChunkReader>> Open(const std::string& path,
                                                           InputFormat format,
                                                           size_t max_record_bytes);
  ~ChunkReader();

  // The next chunk of about `target` bytes (at least one record). false at the end; check
  // status() then. A read or decode error ends the input: every record decoded before it is
  // still returned (the last one marked `truncated` if the error cut it), then false.
  bool Next(size_t target, Chunk* chunk);
  const absl::Status& status() const { return status_; }

  // The format read: `format` as passed to Open, or what kAuto resolved to.
  InputFormat format() const { return format_; }
  // CSV: the header's column names (empty for JSONL).
  const std::vector<std::string>& header() const { return header_; }
  // Progress: raw (compressed) bytes consumed so far and the input's size (-1 when unknown).
  uint64_t raw_bytes_read() const { return raw_read_; }
  int64_t raw_size() const { return raw_size_; }

 private:
  ChunkReader() = default;
  // Appends up to `n` decoded bytes to buf_; false at the end of input or on error.
  bool Fill(size_t n);
  // Makes room for `n` more bytes after len_ (plus the padding), without zero-filling what is
  // already allocated.
  void Reserve(size_t n);
  // Drops buf_[0, n).
  void Consume(size_t n);
  // Position after the last record boundary in buf_[0, limit), 0 if none (CSV: or the forced cut
  // after a runaway quoted field).
  size_t LastBoundary(size_t limit);
  // CSV: ends the next chunk at `at` (after a runaway quoted field's first line).
  void ForceCut(size_t at);

  int fd_ = -1;
  bool own_fd_ = false;
  InputFormat format_ = InputFormat::kJsonl;
  size_t max_record_ = 0;
  bool gzip_ = false;
  struct Inflater;
  std::unique_ptr<Inflater> inflater_;
  std::string raw_;  // compressed bytes not yet inflated
  size_t raw_pos_ = 0;
  // Decoded bytes not yet handed out are buf_[0, len_); buf_.size() is the space allocated for
  // reading (always >= len_ + kChunkPadding), so that reads need no zero-filling. A chunk takes
  // the whole buffer (swap) and gives back its old one, so only the partial record after the last
  // boundary is copied.
  std::string buf_;
  size_t len_ = 0;
  size_t scanned_ = 0;        // CSV: buf_[0, scanned_) has been scanned
  CsvScan csv_;               // CSV: the state at scanned_
  size_t last_boundary_ = 0;  // CSV: last boundary found in [0, scanned_)
  size_t forced_cut_ = 0;     // CSV: the next chunk ends here (a runaway quoted field), 0 if not
  bool eof_ = false;
  uint64_t line_ = 1;
  uint64_t raw_read_ = 0;
  int64_t raw_size_ = -1;
  std::vector<std::string> header_;
  absl::Status status_;
};

// Splits one CSV record (RFC 4180) starting at *pos of `data`; *pos moves past its line end.
// Fields are unescaped into `fields` (reusing their storage). Returns false with `error` set for
// a malformed record (text after a closing quote, an unterminated quote).
bool ParseCsvRecord(std::string_view data, size_t* pos, std::vector<std::string>* fields,
                    size_t* field_count, std::string* error);

// Timestamps are parsed by the library: scriptqa::ParseTimestamp (scriptqa/conversation.h).

}  // namespace scriptqa::cli

#endif  // SCRIPTQA_TOOLS_CLI_INPUT_H_
