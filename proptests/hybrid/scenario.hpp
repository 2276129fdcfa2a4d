// The hybrid's scenario, templated on <Policy, Geometry> like tests/scenarios/: it runs the
// generated program (g_program). Included before Relacy (which #defines free), by relacy_run.cpp.
//
// Segment: a TinyGeometry segment of 16 minimal blocks. Setup allocates 7 minimal blocks and frees
// blocks 0, 2, 4 (holes that cannot merge: their neighbours stay allocated), so the minimal class
// holds three blocks and ABA is reachable; blocks 1, 3, 5 are reserved for threads 0, 1, 2
// (free_setup), block 6 and the tail stay as they are. Each thread runs its generated operations;
// every block it gets is owned through the policy's cells (two owners = a reported data race) and
// filled through policy words. Every block size is a multiple of MIN_BLOCK (48 or 96 bytes), because
// Env's ownership shadow has one cell per 48-byte slot: a block straddling a slot boundary would
// share a cell with its neighbour and report a false data race. check(): blocks held are distinct and keep their fill, frees of
// owned blocks succeed, verify() is clean; then everything is freed, heal, one block.
// List operations (pop, push, cycle2) act on the minimal class directly; a block a thread still
// holds at the end is checked and pushed back before verify(). A held block is FREE and unlisted,
// as a block in transit is; heap operations running meanwhile treat it as such.
#pragma once
#include <cstdint>

#include "hybrid/program.hpp"
#include "scenarios/lists.hpp"

namespace amx::prop {

inline const Program* g_program = nullptr;  // set before rl::simulate, read-only during it

template <AtomicPolicy P, Geometry G, int N>
struct GeneratedProgram {
    static constexpr int THREADS = N;
    static constexpr std::uint32_t BLOCKS = 16;
    using E = scenario::Env<P, G>;
    std::uint32_t setup_blocks[7]{};
    bool ok_setup = false;
    std::uint32_t mine[N][3]{};  // live allocations per thread (a stack)
    int live[N]{};
    bool alone[N]{}, fills[N]{}, frees[N]{}, setup_freed[N]{};
    static constexpr std::uint32_t CLS = SizeClasses<G>::mapping_insert(ControlLayout<G>::MIN_BLOCK);
    std::uint32_t held[N][3]{};  // list-popped blocks per thread (oldest first)
    int nheld[N]{};

    void setup(E& e) {
        ok_setup = true;
        for (auto& b : setup_blocks) {
            auto r = e.heap.allocate(16);
            ok_setup = ok_setup && r.has_value();
            b = r ? *r : 0;
        }
        for (int k : {0, 2, 4}) ok_setup = ok_setup && e.heap.free(setup_blocks[k]).has_value();
        for (int i = 0; i < N; ++i) alone[i] = fills[i] = frees[i] = true;
    }
    static std::uint32_t tag(int i, int k) { return static_cast<std::uint32_t>(16 * (i + 1) + k); }

    void alloc(E& e, int i, std::uint64_t n) {
        auto r = e.heap.allocate(n);
        if (!r || live[i] == 3) return;
        alone[i] = e.own(*r, static_cast<std::uint32_t>(i + 1)) && alone[i];
        e.fill(*r, tag(i, live[i]));
        mine[i][live[i]++] = *r;
    }
    void free_mine(E& e, int i) {
        if (live[i] == 0) return;
        const std::uint32_t b = mine[i][--live[i]];
        fills[i] = e.check_fill(b, tag(i, live[i])) && fills[i];
        e.disown(b);
        frees[i] = e.heap.free(b).has_value() && frees[i];
    }
    static std::uint32_t list_tag(int i) { return static_cast<std::uint32_t>(100 + i); }
    void pop(E& e, int i) {
        if (nheld[i] == 3) return;
        FreeLists<typename E::H::Ctx> lists(e.ctx());
        const std::uint32_t b = scenario::take_block(e, lists, CLS, list_tag(i), alone[i]);
        if (b != 0) held[i][nheld[i]++] = b;
    }
    void push(E& e, int i) {
        if (nheld[i] == 0) return;
        FreeLists<typename E::H::Ctx> lists(e.ctx());
        const std::uint32_t b = held[i][0];
        for (int k = 1; k < nheld[i]; ++k) held[i][k - 1] = held[i][k];
        --nheld[i];
        scenario::give_block(e, lists, CLS, list_tag(i), b, fills[i]);
    }
    void thread(E& e, int i) {
        if (!ok_setup) return;
        for (Op op : g_program->threads[static_cast<std::size_t>(i)]) {
            switch (op) {
                case Op::alloc_small: alloc(e, i, 16); break;
                case Op::alloc_large: alloc(e, i, 64); break;  // 96 bytes: blocks stay multiples of MIN_BLOCK
                case Op::free_mine: free_mine(e, i); break;
                case Op::free_setup:
                    if (!setup_freed[i]) {
                        setup_freed[i] = true;
                        frees[i] = e.heap.free(setup_blocks[2 * i + 1]).has_value() && frees[i];
                    }
                    break;
                case Op::heal: e.heap.heal(); break;
                case Op::pop: pop(e, i); break;
                case Op::push: push(e, i); break;
                case Op::cycle2:
                    pop(e, i);
                    pop(e, i);
                    push(e, i);
                    push(e, i);
                    break;
            }
        }
    }
    void check(E& e, scenario::Outcome& o) {
        o.expect(ok_setup, "setup");
        for (int i = 0; i < N; ++i) {
            o.expect(alone[i], "a block handed to two owners");
            o.expect(fills[i], "a payload changed while owned");
            o.expect(frees[i], "a free of an owned block was refused");
            for (int k = 0; k < live[i]; ++k) o.expect(e.check_fill(mine[i][k], tag(i, k)), "a live payload changed");
            while (nheld[i] > 0) push(e, i);  // held blocks go back (fill checked) before verify()
            o.expect(fills[i], "a held block's payload changed");
        }
        o.expect_clean(e.verify());
        if (!o.ok) return;
        for (int i = 0; i < N; ++i) {
            while (live[i] > 0) o.expect(e.heap.free(mine[i][--live[i]]).has_value(), "final free");
        }
        for (int k = 0; k < 7; ++k) {
            const bool reserved_unfreed = k % 2 == 1 && (k / 2 >= N || !setup_freed[k / 2]);
            if (k == 6 || reserved_unfreed) o.expect(e.heap.free(setup_blocks[k]).has_value(), "final free (setup)");
        }
        e.heap.heal();
        const VerifyReport r = e.verify(VerifyMode::after_heal);
        o.expect_clean(r);
        o.expect(r.blocks == 1, "free all + heal = one block");
    }
};

}  // namespace amx::prop
