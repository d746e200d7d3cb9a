// The busy flag behind "misuse is detected" (scanner.h, stream.h, reload.h, scriptqa.h): an
// object that is one thread's holds an atomic flag, and each public call takes it for its
// duration. A second call while one runs (another thread, or a callback re-entering) fails to take
// it and returns FailedPrecondition instead of racing on the object's buffers.
#ifndef SCRIPTQA_LIB_BUSY_GUARD_H_
#define SCRIPTQA_LIB_BUSY_GUARD_H_

#include <atomic>

namespace scriptqa::internal {

class BusyGuard {
 public:
  explicit BusyGuard(std::atomic<bool>* flag) : flag_(flag) {
    bool expected = false;
    acquired_ = flag_->compare_exchange_strong(expected, true, std::memory_order_acquire);
  }
  ~BusyGuard() {
    if (acquired_) flag_->store(false, std::memory_order_release);
  }
  BusyGuard(const BusyGuard&) = delete;
  BusyGuard& operator=(const BusyGuard&) = delete;
  bool acquired() const { return acquired_; }

 private:
  std::atomic<bool>* flag_;
  bool acquired_;
};

}  // namespace scriptqa::internal

#endif  // SCRIPTQA_LIB_BUSY_GUARD_H_
