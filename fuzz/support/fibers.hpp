// Logical threads as fibers on one OS thread: deterministic, and a fiber that is never resumed is a
// participant that died (its stack is simply reused by the next run).
//
// The switch is a few instructions of our own on x86-64 (support/fibers.cpp): swapcontext makes two
// sigprocmask system calls per switch, and under ASan its interceptor clears the shadow of the whole
// target stack each time; together that was 80% of the `schedules` target's time. Other
// architectures fall back to ucontext. Switches are annotated for AddressSanitizer
// (start/finish_switch_fiber), and the stack of a fiber abandoned mid-run is unpoisoned before reuse.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#if !defined(__x86_64__)
#include <ucontext.h>
#define AMX_FIBER_UCONTEXT 1
#endif

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

extern "C" void amx_fiber_switch(void** save_sp, void* load_sp);  // support/fibers.cpp

namespace amx::fuzz {

class Fiber {
public:
    static constexpr std::size_t STACK = 128 * 1024;  // the core under ASan -O1 needs a few KiB

    Fiber() : stack_(new std::byte[STACK]) {}

    // Prepares the fiber to run body from the start (a previous run, finished or killed, is dropped).
    void reset(std::function<void()> body) {
#ifdef AMX_FUZZ_ASAN
        if (started_ && !finished_) ASAN_UNPOISON_MEMORY_REGION(stack_.get(), STACK);
#endif
        started_ = finished_ = false;
        body_ = std::move(body);
#ifdef AMX_FIBER_UCONTEXT
        getcontext(&ctx_);
        ctx_.uc_stack.ss_sp = stack_.get();
        ctx_.uc_stack.ss_size = STACK;
        ctx_.uc_link = &back_;
        makecontext(&ctx_, &Fiber::entry, 0);
#else
        // The initial frame amx_fiber_switch pops: six callee-saved registers, then the "return"
        // into entry(), which then sees rsp = 8 mod 16 as after a call.
        auto* sp = reinterpret_cast<std::uintptr_t*>(
            (reinterpret_cast<std::uintptr_t>(stack_.get()) + STACK) & ~std::uintptr_t{15});
        *--sp = 0;  // entry's (never used) return address
        *--sp = reinterpret_cast<std::uintptr_t>(&Fiber::entry);
        for (int i = 0; i < 6; ++i) *--sp = 0;
        sp_ = sp;
#endif
    }

    // From the scheduler: runs the fiber until it yields or finishes.
    void resume() {
        started_ = true;
        starting() = this;
#ifdef AMX_FUZZ_ASAN
        void* fake = nullptr;
        __sanitizer_start_switch_fiber(&fake, stack_.get(), STACK);
#endif
#ifdef AMX_FIBER_UCONTEXT
        swapcontext(&back_, &ctx_);
#else
        amx_fiber_switch(&main_sp_, sp_);
#endif
#ifdef AMX_FUZZ_ASAN
        __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
    }

    // From inside the fiber: back to the scheduler.
    void yield() { to_main(false); }

    bool finished() const { return finished_; }

private:
    static Fiber*& starting() {
        static Fiber* f = nullptr;
        return f;
    }

    void to_main([[maybe_unused]] bool done) {
#ifdef AMX_FUZZ_ASAN
        void* fake = nullptr;
        __sanitizer_start_switch_fiber(done ? nullptr : &fake, main_bottom_, main_size_);
#endif
#ifdef AMX_FIBER_UCONTEXT
        if (done) return;  // entry returns to uc_link
        swapcontext(&ctx_, &back_);
#else
        amx_fiber_switch(&sp_, main_sp_);
#endif
#ifdef AMX_FUZZ_ASAN
        __sanitizer_finish_switch_fiber(fake, &main_bottom_, &main_size_);
#endif
    }

    static void entry() {
        Fiber* f = starting();
#ifdef AMX_FUZZ_ASAN
        __sanitizer_finish_switch_fiber(nullptr, &f->main_bottom_, &f->main_size_);
#endif
        f->body_();
        f->finished_ = true;
        f->to_main(true);  // never resumed after this
#ifndef AMX_FIBER_UCONTEXT
        __builtin_unreachable();
#endif
    }

    std::unique_ptr<std::byte[]> stack_;
    std::function<void()> body_;
#ifdef AMX_FIBER_UCONTEXT
    ucontext_t ctx_{}, back_{};
#else
    void* sp_ = nullptr;
    void* main_sp_ = nullptr;
#endif
    bool finished_ = false, started_ = false;
    const void* main_bottom_ = nullptr;
    std::size_t main_size_ = 0;
};

}  // namespace amx::fuzz
