// Internal: what a Scorecard holds besides its settings.
#ifndef SCRIPTQA_LIB_SCORECARD_IMPL_H_
#define SCRIPTQA_LIB_SCORECARD_IMPL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "scriptqa/conversation.h"
#include "scriptqa/filter.h"
#include "scriptqa/scanner.h"

namespace scriptqa {

class ScorecardImpl {
 public:
  ScorecardSettings settings;
  std::string source;       // the scorecard file or name
  std::string cues_source;  // the cue file
  std::shared_ptr<const Filter> cues;
  // Rule index of the cue filter -> Cue; kNoCue for none.
  static constexpr uint8_t kNoCue = 0xFF;
  std::vector<uint8_t> rule_cue;
  // The cues each side's messages are read for: agent messages for greetings, closings,
  // apologies, next steps, promises and requests; customer messages for upset, acknowledgement
  // and questions. A profile skips the other side's rules before their context is looked at,
  // which is most of the cost of reading cues. Null: no rule for that side.
  std::shared_ptr<const Profile> agent_cues, customer_cues;
};

}  // namespace scriptqa

#endif  // SCRIPTQA_LIB_SCORECARD_IMPL_H_
