// Heal: merges what coalescing left behind and re-files every free block in its exact class.
//
// Free merges with a neighbour only when it can take that neighbour off its list: at the head, or
// within the first MERGE_WALK blocks of the list (unlink.hpp). Anything else (a neighbour deeper in a
// list, one popped or being freed at the same moment) is left as adjacent free blocks; heal merges
// them. It runs on demand and automatically before allocation
// reports out_of_memory. After every block is freed and heal has run, the segment is one block.
//
// Protocol (no lock, no waiting; concurrent heals are safe because each merges only what it owns):
//   1. Take a unique token (heal_serial) and raise heals_running.
//   2. Detach every list (one tagged CAS each); every detached block is ours. Mark each COALESCING
//      with heal_token = token and thread it onto a private chain.
//   3. For each block B of the chain still ours: while its right neighbour R (a genuine header,
//      since we own B) carries our token, absorb R into B (R's header is killed, heal_token = 0).
//   4. Walk the chain again, threading the survivors onto a second chain (absorbed headers are
//      interior now and must not be read once a survivor is published).
//   5. Push every survivor on the list of its size; lower heals_running.
// Blocks freed while heal runs are pushed as usual and merged by the next heal.
#pragma once
#include <cstdint>

#include "amx/core/coalesce.hpp"
#include "amx/core/context.hpp"
#include "amx/core/free_list.hpp"
#include "amx/core/transit.hpp"

namespace amx {

struct HealReport {
    std::uint32_t detached = 0;  // blocks taken off the lists
    std::uint32_t merged = 0;    // blocks absorbed into a left neighbour
    std::uint32_t listed = 0;    // blocks pushed back
    bool corrupt = false;        // a detached chain was malformed (the rest of it is left for recover)
};

template <class C>
class Healer {
    using P = typename C::Policy;
    using Map = typename C::Map;

public:
    Healer(const C& ctx, const FreeLists<C>& lists, const Coalescer<C>& co)
        : c_(ctx), lists_(lists), co_(co) {}

    HealReport run() const {
        HealReport rep;
        add_running(1);  // @HL.begin: for verify (HL1) and recover, which read it at quiescence
        const std::uint32_t token = unique_token();
        const std::uint32_t chain = collect(token, rep);
        merge(chain, token, rep);
        std::uint32_t survivors = gather(chain, token);
        publish(survivors, rep);
        add_running(~0u);  // -1
        return rep;
    }

private:
    std::uint32_t unique_token() const {
        std::uint32_t t = 0;
        while (t == 0) t = add(seg::HEAL_SERIAL, 1) + 1;
        return t;
    }

    // Adds v to a heal counter of the segment header; returns the old value.
    // @HL.count relaxed: the counters publish nothing. heal_serial needs only the RMW's atomicity
    // (unique tokens); heals_running is read by verify (HL1) and recover(), at quiescence. Whoever
    // must see a heal in progress sees it through transit (@FL.detach publishes the heal's enter).
    std::uint32_t add(std::uint32_t field, std::uint32_t v) const { return c_.seg_w(field).fetch_add(v, P::relaxed); }
    void add_running(std::uint32_t v) const { add(seg::HEALS_RUNNING, v); }

    std::uint32_t collect(std::uint32_t token, HealReport& rep) const {
        std::uint32_t chain = 0;
        for (std::uint32_t cls = 0; cls < Map::CLASS_COUNT; ++cls) {
            std::uint32_t b = lists_.detach(cls);
            for (std::uint32_t i = 0; b != 0; ++i) {
                if (i >= c_.max_blocks() || !c_.plausible_block(b) ||
                    !c_.plausible_size(b, c_.size_w(b).load(P::relaxed))) {
                    rep.corrupt = true;  // the rest of this chain stays unlisted: recover() reclaims it
                    break;
                }
                const std::uint32_t next = c_.next_w(b).load(P::relaxed);
                c_.set_owned_state(b, STATE_COALESCING);
                c_.heal_token_w(b).store(token, P::relaxed);
                c_.next_w(b).store(chain, P::relaxed);
                chain = b;
                b = next;
                ++rep.detached;
            }
        }
        return chain;
    }

    bool ours(std::uint32_t b, std::uint32_t token) const {
        return c_.heal_token_w(b).load(P::relaxed) == token &&
               c_.state(b) == STATE_COALESCING;
    }

    void merge(std::uint32_t chain, std::uint32_t token, HealReport& rep) const {
        for (std::uint32_t b = chain, i = 0; b != 0 && i < c_.max_blocks(); ++i) {
            const std::uint32_t next = c_.next_w(b).load(P::relaxed);
            for (std::uint32_t k = 0; ours(b, token) && k < c_.max_blocks(); ++k) {
                const std::uint32_t size = c_.size_w(b).load(P::relaxed);
                const std::uint32_t r = b + size;
                if (!c_.plausible_block(r) || !ours(r, token)) break;
                const std::uint32_t rsize = c_.size_w(r).load(P::relaxed);
                // r carries our token but a corrupted image can forge one: check its size too.
                if (!c_.plausible_size(r, rsize)) break;
                const std::uint32_t w = r + rsize;
                if (w < c_.end) c_.prev_w(w).store(b, P::relaxed);  // we own w's left neighbour
                c_.size_w(b).store(size + rsize, P::relaxed);
                c_.kill_header(r);  // heal_token = 0: skipped below; next_free stays for the walk
                ++rep.merged;
            }
            b = next;
        }
    }

    std::uint32_t gather(std::uint32_t chain, std::uint32_t token) const {
        std::uint32_t survivors = 0;
        for (std::uint32_t b = chain, i = 0; b != 0 && i < c_.max_blocks(); ++i) {
            const std::uint32_t next = c_.next_w(b).load(P::relaxed);
            if (ours(b, token)) {
                c_.next_w(b).store(survivors, P::relaxed);
                survivors = b;
            }
            b = next;
        }
        return survivors;
    }

    void publish(std::uint32_t survivors, HealReport& rep) const {
        for (std::uint32_t b = survivors, i = 0; b != 0 && i < c_.max_blocks(); ++i) {
            const std::uint32_t next = c_.next_w(b).load(P::relaxed);
            co_.publish_free(b);
            ++rep.listed;
            b = next;
        }
    }

    const C& c_;
    const FreeLists<C>& lists_;
    const Coalescer<C>& co_;
};

}  // namespace amx
