// Logical threads as ucontext fibers on one OS thread: deterministic, and a fiber that is never
// resumed is a participant that died (its stack is simply reused by the next run).
// Switches are annotated for AddressSanitizer (start/finish_switch_fiber), and a reused stack is
// unpoisoned first: a killed fiber leaves its frames' redzones poisoned.
#pragma once
#include <ucontext.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AMX_FUZZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define AMX_FUZZ_ASAN 1
#endif
#ifdef AMX_FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace amx::fuzz {

class Fiber {
public:
    static constexpr std::size_t STACK = 256 * 1024;  // ASan frames are large

    Fiber() : stack_(new std::byte[STACK]) {}

    // Prepares the fiber to run body from the start (a previous run, finished or killed, is dropped).
    void reset(std::function<void()> body) {
#ifdef AMX_FUZZ_ASAN
        // Only a fiber that was abandoned mid-run leaves poisoned frames (and unpoisoning the whole
        // stack every run makes ASan release and re-fault its shadow pages: 10x slower).
        if (started_ && !finished_) ASAN_UNPOISON_MEMORY_REGION(stack_.get(), STACK);
#endif
        started_ = false;
        body_ = std::move(body);
        finished_ = false;
        getcontext(&ctx_);
        ctx_.uc_stack.ss_sp = stack_.get();
        ctx_.uc_stack.ss_size = STACK;
        ctx_.uc_link = &back_;
        const auto self = reinterpret_cast<std::uintptr_t>(this);
        makecontext(&ctx_, reinterpret_cast<void (*)()>(&Fiber::entry), 2, static_cast<unsigned>(self >> 32),
                    static_cast<unsigned>(self & 0xFFFFFFFFu));
    }

    // From the scheduler: runs the fiber until it yields or finishes.
    void resume() {
        started_ = true;
#ifdef AMX_FUZZ_ASAN
        void* fake = nullptr;
        __sanitizer_start_switch_fiber(&fake, stack_.get(), STACK);
        swapcontext(&back_, &ctx_);
        __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
        swapcontext(&back_, &ctx_);
#endif
    }

    // From inside the fiber: back to the scheduler.
    void yield() {
#ifdef AMX_FUZZ_ASAN
        void* fake = nullptr;
        __sanitizer_start_switch_fiber(&fake, main_bottom_, main_size_);
        swapcontext(&ctx_, &back_);
        __sanitizer_finish_switch_fiber(fake, &main_bottom_, &main_size_);
#else
        swapcontext(&ctx_, &back_);
#endif
    }

    bool finished() const { return finished_; }

private:
    static void entry(unsigned hi, unsigned lo) {
        auto* f = reinterpret_cast<Fiber*>((std::uintptr_t{hi} << 32) | lo);
#ifdef AMX_FUZZ_ASAN
        __sanitizer_finish_switch_fiber(nullptr, &f->main_bottom_, &f->main_size_);
#endif
        f->body_();
        f->finished_ = true;
#ifdef AMX_FUZZ_ASAN
        __sanitizer_start_switch_fiber(nullptr, f->main_bottom_, f->main_size_);  // this stack is done
#endif
    }  // returns to uc_link: the scheduler

    std::unique_ptr<std::byte[]> stack_;
    std::function<void()> body_;
    ucontext_t ctx_{}, back_{};
    bool finished_ = false, started_ = false;
    const void* main_bottom_ = nullptr;
    std::size_t main_size_ = 0;
};

}  // namespace amx::fuzz
