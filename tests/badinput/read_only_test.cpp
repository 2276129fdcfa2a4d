// docs/BAD_INPUT.md rows R74-R75: writing through a read-only view (MatrixHandler::observe, the
// view `amx info/stats/verify/dump/map` use). Every writing call returns read_only and leaves every
// byte of the segment as it was; the reading calls still work. Each call runs in a child process,
// so a call that writes (and faults on the PROT_READ mapping) fails its own row, not the run.
#include "badinput/support.hpp"

namespace amx::testing_support {
namespace {

class ReadOnlyView : public LiveSegment {
protected:
    void SetUp() override {
        LiveSegment::SetUp();
        auto v = MatrixHandler::observe(name_);
        ASSERT_TRUE(v) << v.error().message();
        view_.emplace(std::move(*v));
        ASSERT_TRUE(view_->read_only());
        ASSERT_FALSE(h_->read_only());
    }
    // Runs call(view) in a child: its exit status is the error code it returned (0 for success),
    // or minus the signal that ended it.
    template <class Call>
    int code_in_child(Call&& call) {
        return in_child([&] {
            const auto r = call(*view_);
            return r ? 0 : static_cast<int>(r.error().code);
        });
    }
    void expect_refused(const char* what, int code) {
        EXPECT_EQ(code, static_cast<int>(Errc::read_only)) << what << " (a negative code is the signal that ended it)";
    }
    Block<std::byte> live(std::size_t i) const { return blocks_[i].block; }

    std::optional<SharedHandler> view_;
};

TEST_F(ReadOnlyView, R74_EveryWritingCallIsRefused) {
    const Block<std::byte> b = live(0), user = live(3);
    const Block<std::uint64_t> typed{b.offset, b.generation};
    const std::uint32_t hdr = header_of(1);
    expect_refused("allocate_raw", code_in_child([](auto& v) { return v.allocate_raw(64); }));
    expect_refused("allocate<T>", code_in_child([](auto& v) { return v.template allocate<std::uint64_t>(); }));
    expect_refused("write", code_in_child([&](auto& v) { return v.write(typed, std::uint64_t{7}); }));
    expect_refused("free", code_in_child([&](auto& v) { return v.free(b); }));
    expect_refused("free_at", code_in_child([&](auto& v) { return v.free_at(hdr); }));
    expect_refused("set_state", code_in_child([&](auto& v) { return v.set_state(b, USER_STATE); }));
    expect_refused("transition_state", code_in_child([&](auto& v) { return v.transition_state(user, USER_STATE, USER_STATE + 1); }));
    expect_refused("transition_state(order)",
                   code_in_child([&](auto& v) { return v.transition_state(user, USER_STATE, USER_STATE + 1, order::acq_rel); }));
    expect_refused("heal", code_in_child([](auto& v) { return v.heal(); }));
    expect_refused("recover", code_in_child([](auto& v) { return v.recover(); }));
    expect_refused("recover(force, reclaim_dead)",
                   code_in_child([](auto& v) { return v.recover({.dry_run = false, .reclaim_dead = true, .force = true}); }));
    const auto r = view_->free(b);  // in this process too: the error names the file and says why
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::read_only);
    EXPECT_NE(r.error().message().find(shm_file(name_)), std::string::npos) << r.error().message();
    expect_untouched();
}

TEST_F(ReadOnlyView, R75_ReadingCallsWork) {
    const Block<std::byte> user = live(3);
    EXPECT_EQ(code_in_child([&](auto& v) { return v.get_state(user); }), 0);
    EXPECT_EQ(code_in_child([&](auto& v) { return v.get_state(user, order::acquire); }), 0);
    EXPECT_EQ(code_in_child([&](auto& v) { return v.template block_at<std::byte>(user.offset); }), 0);
    EXPECT_EQ(code_in_child([](auto& v) { return v.recover({.dry_run = true}); }), 0);
    EXPECT_EQ(*view_->get_state(user), USER_STATE);
    EXPECT_TRUE(test::check_fill(&view_->read(Block<std::byte>{live(2).offset}), blocks_[2].size, blocks_[2].tag));
    EXPECT_TRUE(view_->verify().ok());
    const Stats st = view_->stats();
    EXPECT_EQ(st.allocated_blocks + st.user_state_blocks, blocks_.size());
    expect_untouched();
}

}  // namespace
}  // namespace amx::testing_support
