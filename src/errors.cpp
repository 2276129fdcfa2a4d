#include "amx/errc.hpp"

#include <cstdio>

namespace amx {

const char* errc_name(Errc e) noexcept {
    switch (e) {
        case Errc::out_of_memory: return "out_of_memory";
        case Errc::contention: return "contention";
        case Errc::invalid_size: return "invalid_size";
        case Errc::reserved_status: return "reserved_status";
        case Errc::transition_failed: return "transition_failed";
        case Errc::invalid_offset: return "invalid_offset";
        case Errc::type_too_large: return "type_too_large";
        case Errc::corrupted: return "corrupted";
        case Errc::unlink_failed: return "unlink_failed";
        case Errc::invalid_name: return "invalid_name";
        case Errc::name_too_long: return "name_too_long";
        case Errc::already_exists: return "already_exists";
        case Errc::not_found: return "not_found";
        case Errc::foreign_owner: return "foreign_owner";
        case Errc::insecure_mode: return "insecure_mode";
        case Errc::not_regular_file: return "not_regular_file";
        case Errc::bad_magic: return "bad_magic";
        case Errc::version_mismatch: return "version_mismatch";
        case Errc::layout_mismatch: return "layout_mismatch";
        case Errc::header_corrupted: return "header_corrupted";
        case Errc::size_mismatch: return "size_mismatch";
        case Errc::init_timeout: return "init_timeout";
        case Errc::stale_init: return "stale_init";
        case Errc::init_failed: return "init_failed";
        case Errc::no_space: return "no_space";
        case Errc::system_error: return "system_error";
        case Errc::not_ours: return "not_ours";
        case Errc::symlink: return "symlink";
        case Errc::permission_denied: return "permission_denied";
        case Errc::read_only: return "read_only";
    }
    return "unknown";
}

namespace {
class Category final : public std::error_category {
public:
    const char* name() const noexcept override { return "atomic-matrix"; }
    std::string message(int ev) const override { return errc_name(static_cast<Errc>(ev)); }
};
}  // namespace

const std::error_category& amx_category() noexcept {
    static const Category category;
    return category;
}

std::string Error::message() const {
    char buf[96];
    std::snprintf(buf, sizeof buf, " (found %llu, expected %llu)",
                  static_cast<unsigned long long>(found), static_cast<unsigned long long>(expected));
    std::string m = errc_name(code);
    m += buf;
    if (!context.empty()) m += ": " + context;
    return m;
}

}  // namespace amx
