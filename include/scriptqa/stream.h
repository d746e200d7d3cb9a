// scriptqa/stream.h — checking a message while it is being written (LLM token streams).
//
// A chat bot's reply arrives token by token. A StreamScanner checks it as it grows: feed it the
// chunks of one message, in order, of any size and split anywhere (even inside a UTF-8
// character); after each chunk it says which findings have become certain and how many bytes of
// the message can be shown to the customer now. When the message ends, its findings are exactly
// those Scanner::Scan gives for the whole message.
//
//   auto filter = scriptqa::Filter::Default();
//   auto stream = scriptqa::StreamScanner::Create(*filter);       // one per message in flight
//   for (std::string_view token : llm_tokens) {
//     absl::StatusOr<scriptqa::StreamUpdate> u = stream->Write(token);
//     for (const scriptqa::Finding& f : u->new_findings) HandleFinding(f);   // e.g. stop a block
//     SendToCustomer(stream->text().substr(sent, u->releasable - sent));
//     sent = u->releasable;
//   }
//   absl::StatusOr<scriptqa::StreamUpdate> last = stream->Finish();   // releasable == size
//   stream->Reset();                                                   // next message
//
// What "releasable" promises: every finding that includes any byte of text()[0, releasable) has
// already been reported (in this update or an earlier one). Text past it may still become part of
// a finding. `releasable` never decreases, never splits a character, and lags the text by a bounded
// tail: the longest pattern that can still match there (literals: at most the longest literal of
// the rules that can report; regexes: only while the text at the end could still belong to a match
// — an e-mail regex holds back a run of ASCII letters and digits, not Chinese text), plus the
// context a pending hit waits for (allow-contexts, the `near` window, the next character), plus
// less than `min_scan_bytes` of text not yet matched. docs/server.md has the details and measured
// sizes.
//
// What "certain" means: a reported finding is final — Finish() never withdraws it — because it
// is only reported once no text that can still arrive could change the checks of the confirmation
// stage (boundary, allow-contexts, negation, required context, shop allow-list) or let an earlier
// or longer hit of the same category overlap it. Findings are reported in the order they become
// certain, which is not always the block order; after Finish(), findings() holds exactly the
// findings of Scanner::Scan(text(), options) and is sorted in their order (byte begin, longer
// first, rule index).
//
// Cost: per byte, within 2x of Scanner::Scan on the same message (bench/stream_bench.cc), because
// the engine runs in block mode on short windows of new text only (in streaming mode for regexes
// that cannot be matched on windows: anchors, assertions) and the rest of the work is proportional
// to raw hits. Per message in flight the state is the text so far, its normalised form with the
// offset map, and its raw hits (plus one engine stream for such regexes).
//
// Thread safety: a StreamScanner is one message's state; it is not thread-safe, but misuse is
// detected like a Scanner's (a call made while another call on it runs returns
// FailedPrecondition). It owns its scratch space, so a message's chunks may be fed from different
// threads one after another (e.g. by an HTTP server's worker pool). It keeps its filter alive, so
// a message started before a reload finishes on the filter it started with.
//
// Offsets: as in scriptqa/types.h, into the message as fed so far (text()).
#ifndef SCRIPTQA_STREAM_H_
#define SCRIPTQA_STREAM_H_

#include <cstddef>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "scriptqa/filter.h"
#include "scriptqa/scanner.h"
#include "scriptqa/types.h"

namespace scriptqa {

// | option         | default | effect                                                             |
// |----------------|---------|--------------------------------------------------------------------|
// | scan           | {}      | as for Scanner::Scan: min_severity, overlap, invalid_utf8, profile |
// | profile        | nullptr | a profile held by shared_ptr (kept alive); overrides scan.profile  |
// | min_scan_bytes | 48      | new text is normalised and matched once this many bytes are waiting |
// |                |         | (and always at Finish). 0: on every chunk. Larger: cheaper per      |
// |                |         | byte, findings and releasable text come later by that much.          |
struct StreamOptions {
  ScanOptions scan;
  // Optional: a profile the stream keeps alive for as long as it uses it (for servers whose
  // profiles are replaced on reload while messages are in flight). Takes precedence over
  // scan.profile.
  std::shared_ptr<const Profile> profile;
  size_t min_scan_bytes = 48;
};

// What one Write() or Finish() changed.
struct StreamUpdate {
  // text()[0, releasable) may be shown to the customer; see the header comment.
  size_t releasable = 0;
  // The findings that became certain in this call. They view text(); valid until the next call.
  absl::Span<const Finding> new_findings;
  // True after Finish(): releasable == text().size() and findings() is complete.
  bool finished = false;
};

class StreamScannerImpl;

class SCRIPTQA_API StreamScanner {
 public:
  // Allocates the scratch space and engine streams for `filter`. The profile in `options`, if
  // any, must have been created for `filter`.
  static absl::StatusOr<StreamScanner> Create(std::shared_ptr<const Filter> filter,
                                              const StreamOptions& options = {});

  StreamScanner(StreamScanner&&) noexcept;
  StreamScanner& operator=(StreamScanner&&) noexcept;
  ~StreamScanner();

  // Appends a chunk of the current message. An incomplete UTF-8 character at the end is kept
  // until the next chunk completes it (or Finish() decides it is invalid). Errors:
  // InvalidArgument for invalid UTF-8 with InvalidUtf8::kReject or a message over 1 GiB;
  // ResourceExhausted when the text so far normalises to more than 4x its size + 64 KiB (a long
  // run of U+FDFA; Scanner::Scan refuses such a message too, and the stream applies the bound to
  // every prefix so that its memory stays bounded: a message whose expansion comes first and is
  // diluted only by text sent later is refused here but not by Scan). The message is then failed:
  // further calls give FailedPrecondition until Reset(). FailedPrecondition after Finish().
  absl::StatusOr<StreamUpdate> Write(std::string_view chunk);

  // Ends the message: matches what is left, reports the remaining findings, releases everything.
  // Errors as Write(); a message Scan refuses for its expansion fails here at the latest, with
  // Scan's status.
  absl::StatusOr<StreamUpdate> Finish();

  // Discards the current message (finished or not) and gets ready for the next one, keeping the
  // options (or replacing them). Does not allocate once the buffers are warm.
  void Reset();
  absl::Status Reset(const StreamOptions& options);

  // The message so far, as fed (including an incomplete character at the end).
  std::string_view text() const;
  // Every finding reported so far (see the header comment for the order). They view text();
  // valid until the next Write().
  absl::Span<const Finding> findings() const;
  // The current releasable offset (as in the last update).
  size_t releasable() const;
  bool finished() const;

  const std::shared_ptr<const Filter>& filter() const;
  const StreamOptions& options() const;

 private:
  explicit StreamScanner(std::unique_ptr<StreamScannerImpl> impl);
  std::unique_ptr<StreamScannerImpl> impl_;
};

}  // namespace scriptqa

#endif  // SCRIPTQA_STREAM_H_
