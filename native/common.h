// Shared helpers for the bpfts native addon: errno errors, argument parsing, raw syscalls.
// The addon is a set of thin wrappers over bpf(2), perf_event_open(2) and a ring buffer
// consumer; all policy lives in TypeScript.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include <linux/bpf.h>

namespace bpfts {

// ---- kernel ABI additions newer than the image's 6.1 uapi headers ----------------------------
// Values from the kernel's include/uapi/linux/bpf.h (6.4+ / 6.6+).

// BPF_PROG_LOAD: `__u32 log_true_size` follows `core_relo_rec_size` (6.4+).
constexpr size_t kProgLoadLogTrueSizeOff = offsetof(union bpf_attr, core_relo_rec_size) + 4;
static_assert(kProgLoadLogTrueSizeOff == 140, "unexpected BPF_PROG_LOAD attr layout");

// BPF_LINK_CREATE: the per-attach-type union starts at offset 16.
constexpr size_t kLinkCreateUnionOff = 16;
static_assert(offsetof(union bpf_attr, link_create.target_btf_id) == kLinkCreateUnionOff,
              "unexpected BPF_LINK_CREATE attr layout");
// perf_event.bpf_cookie (5.15+) lives at the start of the union.
// uprobe_multi (6.6+): path, offsets, ref_ctr_offsets, cookies (all u64), cnt, flags, pid (u32).
constexpr size_t kUprobeMultiPathOff = kLinkCreateUnionOff + 0;
constexpr size_t kUprobeMultiOffsetsOff = kLinkCreateUnionOff + 8;
constexpr size_t kUprobeMultiRefCtrOff = kLinkCreateUnionOff + 16;
constexpr size_t kUprobeMultiCookiesOff = kLinkCreateUnionOff + 24;
constexpr size_t kUprobeMultiCntOff = kLinkCreateUnionOff + 32;
constexpr size_t kUprobeMultiFlagsOff = kLinkCreateUnionOff + 36;
constexpr size_t kUprobeMultiPidOff = kLinkCreateUnionOff + 40;
constexpr size_t kLinkCreateUprobeMultiSize = kLinkCreateUnionOff + 48;
// kprobe_multi (5.18): flags, cnt (u32), syms, addrs, cookies (u64).
constexpr size_t kKprobeMultiFlagsOff = kLinkCreateUnionOff + 0;
constexpr size_t kKprobeMultiCntOff = kLinkCreateUnionOff + 4;
constexpr size_t kKprobeMultiSymsOff = kLinkCreateUnionOff + 8;
constexpr size_t kKprobeMultiAddrsOff = kLinkCreateUnionOff + 16;
constexpr size_t kKprobeMultiCookiesOff = kLinkCreateUnionOff + 24;

constexpr uint32_t kBpfTraceKprobeMulti = 42;
constexpr uint32_t kBpfTraceUprobeMulti = 48;
constexpr uint32_t kBpfTraceKprobeSession = 56;
constexpr uint32_t kBpfTraceUprobeSession = 57;

// Room for any attr we build; the kernel accepts a larger size when the tail is zero and
// zero-extends a smaller one.
union AttrBuf {
  union bpf_attr attr;
  uint8_t raw[256];
};

// ---- errors ----------------------------------------------------------------------------------

// A JS Error with code (errno name), errno (positive) and syscall, e.g.
// "bpf(BPF_MAP_CREATE) failed: EPERM (Operation not permitted)".
Napi::Error ErrnoError(Napi::Env env, const std::string& syscall, int err);
[[noreturn]] void ThrowErrno(Napi::Env env, const std::string& syscall, int err);
[[noreturn]] void ThrowType(Napi::Env env, const std::string& msg);
[[noreturn]] void ThrowRange(Napi::Env env, const std::string& msg);

// ---- argument parsing ------------------------------------------------------------------------

struct Bytes {
  uint8_t* data = nullptr;
  size_t len = 0;
};

// A Uint8Array / Buffer / any TypedArray / DataView / ArrayBuffer. Throws TypeError otherwise.
Bytes GetBytes(Napi::Env env, Napi::Value v, const char* what);
// As GetBytes, but null/undefined gives {nullptr, 0}.
Bytes GetBytesOrNull(Napi::Env env, Napi::Value v, const char* what);

int32_t GetFd(Napi::Env env, Napi::Value v, const char* what);
int64_t GetInt(Napi::Env env, Napi::Value v, const char* what, int64_t lo, int64_t hi);
uint32_t GetU32(Napi::Env env, Napi::Value v, const char* what);
// number (a safe integer) or bigint (must fit in 64 bits, signed or unsigned).
uint64_t GetU64(Napi::Env env, Napi::Value v, const char* what);

bool Has(Napi::Object o, const char* key);  // present and not undefined
uint32_t OptU32(Napi::Env env, Napi::Object o, const char* key, uint32_t def);
uint64_t OptU64(Napi::Env env, Napi::Object o, const char* key, uint64_t def);
int64_t OptInt(Napi::Env env, Napi::Object o, const char* key, int64_t def, int64_t lo, int64_t hi);
uint32_t ReqU32(Napi::Env env, Napi::Object o, const char* key);
Napi::Object GetObject(Napi::Env env, Napi::Value v, const char* what);

// ---- syscalls --------------------------------------------------------------------------------

// bpf(2); returns the result or -errno.
long SysBpf(int cmd, AttrBuf* attr, size_t size);
// bpf(2) that throws ErrnoError naming the command on failure.
long BpfOrThrow(Napi::Env env, int cmd, AttrBuf* attr, size_t size);
const char* BpfCmdName(int cmd);

inline uint64_t Ptr(const void* p) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)); }

// Count of possible CPUs (the size per-CPU map values are multiplied by).
int NumPossibleCpus();

// Effective size of a map's value buffer for lookups from user space: per-CPU maps need
// round_up(value_size, 8) * possible CPUs.
struct MapShape {
  uint32_t type = 0;
  uint32_t keySize = 0;
  uint32_t valueSize = 0;
  uint32_t maxEntries = 0;
  size_t userValueSize = 0;
};
MapShape ShapeFor(uint32_t type, uint32_t keySize, uint32_t valueSize, uint32_t maxEntries);
// Cached shape of the map behind fd (queried with BPF_OBJ_GET_INFO_BY_FD the first time).
const MapShape& MapShapeOf(Napi::Env env, int fd);
void RememberMap(int fd, const MapShape& shape);
void ForgetFd(int fd);

// ---- ring buffer (ringbuf.cc) ------------------------------------------------------------------
void InitRingBuf(Napi::Env env, Napi::Object exports);

}  // namespace bpfts
