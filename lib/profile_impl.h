#ifndef SCRIPTQA_LIB_PROFILE_IMPL_H_
#define SCRIPTQA_LIB_PROFILE_IMPL_H_

#include <memory>
#include <string>
#include <vector>

#include "filter_impl.h"
#include "scriptqa/scanner.h"

namespace scriptqa {

class ProfileImpl {
 public:
  std::shared_ptr<const Filter> filter;
  ProfileOptions options;
  std::vector<uint8_t> enabled;         // per rule index
  std::vector<int8_t> severity;         // per rule index: -1 keep, else Severity
  std::vector<std::string> allow;       // normalised
  internal::LiteralSet deny;            // shop deny terms, normalised
  Rule deny_rule;                       // the rule deny findings point to
};

}  // namespace scriptqa

#endif  // SCRIPTQA_LIB_PROFILE_IMPL_H_
