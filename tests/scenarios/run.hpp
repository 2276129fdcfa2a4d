// Runs one scenario of tests/scenarios/ (scenarios.hpp describes its shape) on zeroed memory, the
// same way under every policy: setup (RAW scenarios on the bare memory, the others on a heap
// formatted and attached first), the threads, then the check.
//   run(mem, nonce, start_threads)  the whole execution, for runners that start threads themselves
//                                   (tests/scenario_test.cpp real threads, fuzz/schedules.cpp fibers);
//   Execution                       the same steps one by one, for Relacy's before/thread/after
//                                   (model/harness.hpp).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "env.hpp"

namespace amx::scenario {

template <class Sc>
concept RawScenario = requires { Sc::RAW; };

// Bytes of the segment a scenario runs in: the control area and BLOCKS minimal blocks.
template <class Sc, Geometry G>
constexpr std::uint32_t capacity() {
    return ControlLayout<G>::FIRST_BLOCK + Sc::BLOCKS * ControlLayout<G>::MIN_BLOCK;
}

// One execution of scenario S over memory `mem`, which must read as zeros (a fresh segment does).
template <template <class, class> class S, AtomicPolicy P, Geometry G>
class Execution {
public:
    using Sc = S<P, G>;

    explicit Execution(typename P::Memory mem) : mem_(mem) {}

    // Single-threaded, before the threads start. A failed format or attach becomes the outcome's
    // failure; the threads then do nothing.
    void setup(std::uint64_t nonce) {
        if constexpr (RawScenario<Sc>) {
            sc_.setup_raw(mem_);
        } else {
            if (!Heap<P, G>::format(mem_, FormatParams{nonce, 1, 1})) {
                setup_error_ = "format of the zeroed segment failed";
                return;
            }
            auto h = Heap<P, G>::attach(mem_);
            if (!h) {
                setup_error_ = "attach after format failed";
                return;
            }
            env_.emplace(*h);
            sc_.setup(*env_);
        }
    }

    void thread(int i) {
        if constexpr (RawScenario<Sc>) {
            sc_.thread_raw(mem_, i);
        } else if (env_) {
            sc_.thread(*env_, i);
        }
    }

    // Single-threaded, after every thread finished.
    Outcome check() {
        Outcome o;
        o.expect(setup_error_ == nullptr, setup_error_);
        if constexpr (RawScenario<Sc>) {
            sc_.check_raw(mem_, o);
        } else if (env_) {
            sc_.check(*env_, o);
        }
        return o;
    }

    // Whether the threads run on a formatted heap (Relacy's per-step invariant looks at it).
    bool has_heap() const { return env_.has_value(); }

private:
    typename P::Memory mem_;
    Sc sc_;
    std::optional<Env<P, G>> env_;
    const char* setup_error_ = nullptr;
};

// The whole execution. start_threads(n, body) runs body(0) .. body(n - 1) concurrently and returns
// once all have finished.
template <template <class, class> class S, AtomicPolicy P, Geometry G, class StartThreads>
Outcome run(typename P::Memory mem, std::uint64_t nonce, StartThreads&& start_threads) {
    Execution<S, P, G> x(mem);
    x.setup(nonce);
    start_threads(S<P, G>::THREADS, [&x](int i) { x.thread(i); });
    return x.check();
}

// Zeroed 8-byte-aligned memory for the policies whose Memory is a byte range.
class ZeroedBytes {
public:
    explicit ZeroedBytes(std::uint32_t bytes) : words_((bytes + 7) / 8), bytes_(bytes) {}
    void zero() { std::fill(words_.begin(), words_.end(), 0); }
    std::byte* data() { return reinterpret_cast<std::byte*>(words_.data()); }
    std::uint32_t size() const { return bytes_; }

private:
    std::vector<std::uint64_t> words_;
    std::uint32_t bytes_;
};

}  // namespace amx::scenario
