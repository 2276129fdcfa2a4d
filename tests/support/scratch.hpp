// Scratch names in tests (include/amx/platform/scratch.hpp): a GoogleTest environment that first
// removes what dead runs of the same kind left, removes this run's names when SIGINT, SIGTERM or
// SIGHUP ends it, and removes whatever of them is left at the end.
#pragma once
#include <gtest/gtest.h>

#include <cstdio>

#include "amx/platform/scratch.hpp"

namespace amx::test {

class ScratchEnvironment : public ::testing::Environment {
public:
    explicit ScratchEnvironment(const char* kind) : kind_(kind) {}
    void SetUp() override {
        if (const int n = sweep_dead_scratch(kind_); n > 0) std::printf("swept %d names left by dead runs\n", n);
        remove_scratch_on_signals();
    }
    void TearDown() override {
        if (const int n = remove_own_scratch(kind_); n > 0) std::printf("swept %d names this run left\n", n);
    }

private:
    const char* kind_;
};

// For a test file's namespace scope: registers the environment of `kind` before main runs.
inline ::testing::Environment* scratch_environment(const char* kind) {
    return ::testing::AddGlobalTestEnvironment(new ScratchEnvironment(kind));
}

}  // namespace amx::test
