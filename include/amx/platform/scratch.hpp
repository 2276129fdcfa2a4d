// Scratch segments: named segments a process makes for its own use only (the multi-process tests,
// `amx demo`). They go away with the process that made them: by its own cleanup when it ends
// normally, by remove_scratch_on_signals() when SIGINT, SIGTERM or SIGHUP ends it, and by the next
// run's sweep_dead_scratch() when it was killed outright (SIGKILL, a crash).
//
// Name: "<kind>-<pid>-<start>-<n>": the creating process's pid and start time (process_start_time,
// clock ticks since boot) and a counter. A sweep removes a name of its kind only when that (pid,
// start) no longer runs (process_alive): a live run's names are never touched, and a pid reused by
// another process does not keep a dead run's names alive.
#pragma once
#include <sys/types.h>

#include <string>
#include <string_view>

namespace amx {

// A fresh scratch name of `kind` ([A-Za-z0-9]{1,16}; anything else is a programming error and
// aborts). The first call for a kind also registers the prefix that remove_scratch_on_signals()
// removes (at most 8 kinds per process).
std::string scratch_name(std::string_view kind);

// Removes /dev/shm/amx.<kind>-* left by processes that no longer run; returns how many.
int sweep_dead_scratch(std::string_view kind);
// Removes this process's scratch names of `kind`; returns how many.
int remove_own_scratch(std::string_view kind);

// Installs handlers for SIGINT, SIGTERM and SIGHUP that end this process's running tied children
// (fork_tied_child; SIGKILL and waitpid, so none is still creating a name), remove every scratch
// name this process made (getdents64 and unlinkat on /dev/shm: async-signal-safe calls only), and
// then end the process by the same signal (its exit status says so). A forked child that inherits
// the handlers removes nothing of its parent's.
void remove_scratch_on_signals();

// fork() for a worker that must not outlive its parent: in the child, SIGKILL arrives when the
// parent ends (prctl PR_SET_PDEATHSIG; the parent's forking thread, to be exact), so an interrupted
// parent leaves no worker behind. The most recent 64 are also ended by the handlers above before
// they remove names. Returns as fork() does.
pid_t fork_tied_child();

}  // namespace amx
