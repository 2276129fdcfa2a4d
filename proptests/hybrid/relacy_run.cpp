// The Relacy side of the hybrid: one translation unit, Relacy included last (through
// model/harness.hpp), exporting run_under_relacy() only.
#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "hybrid/program.hpp"
#include "hybrid/scenario.hpp"
#include "harness.hpp"  // last: includes <relacy/relacy.hpp>

namespace amx::prop {

template <class P, class G>
using Program2 = GeneratedProgram<P, G, 2>;
template <class P, class G>
using Program3 = GeneratedProgram<P, G, 3>;

HybridResult run_under_relacy(const Program& p, unsigned bound, double budget_seconds) {
    g_program = &p;
    model::RunSpec spec;
    spec.sched = model::Sched::bound;
    spec.bound = bound;
    spec.budget_seconds = budget_seconds;
    const model::RunResult r = p.threads.size() == 2 ? model::run_suite<Program2, ModelGeometry>(spec)
                                                     : model::run_suite<Program3, ModelGeometry>(spec);
    g_program = nullptr;
    return HybridResult{r.ok, r.incomplete, r.executions, r.seconds, r.failure};
}

std::string show(const Program& p) {
    static const char* names[] = {"alloc(16)", "alloc(64)", "free_mine", "free_setup", "heal", "pop", "push", "cycle2"};
    std::string s;
    for (std::size_t i = 0; i < p.threads.size(); ++i) {
        s += "T" + std::to_string(i) + ":";
        for (Op op : p.threads[i]) s += std::string(" ") + names[static_cast<int>(op)];
        s += i + 1 < p.threads.size() ? "  |  " : "";
    }
    return s;
}

}  // namespace amx::prop
