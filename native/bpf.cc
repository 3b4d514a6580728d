// bpfts native addon: thin synchronous wrappers over bpf(2) and perf_event_open(2), plus a
// C++ demangler. No policy here: the TypeScript side (runtime/native.ts) decides what to do.
#include "common.h"

#include <cxxabi.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <unordered_map>
#include <vector>

namespace bpfts {

// ---- errors ----------------------------------------------------------------------------------

Napi::Error ErrnoError(Napi::Env env, const std::string& syscall, int err) {
  const char* name = strerrorname_np(err);
  std::string code = name != nullptr ? name : ("E" + std::to_string(err));
  std::string msg = syscall + " failed: " + code + " (" + strerror(err) + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

void ThrowErrno(Napi::Env env, const std::string& syscall, int err) {
  throw ErrnoError(env, syscall, err);
}

void ThrowType(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }

void ThrowRange(Napi::Env env, const std::string& msg) { throw Napi::RangeError::New(env, msg); }

// ---- argument parsing ------------------------------------------------------------------------

Bytes GetBytes(Napi::Env env, Napi::Value v, const char* what) {
  Bytes b;
  void* data = nullptr;
  size_t len = 0;
  if (v.IsTypedArray()) {
    napi_typedarray_type type;
    size_t length = 0;
    napi_value ab;
    size_t byteOffset = 0;
    NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &byteOffset), b);
    len = v.As<Napi::TypedArray>().ByteLength();
  } else if (v.IsDataView()) {
    napi_value ab;
    size_t byteOffset = 0;
    NAPI_THROW_IF_FAILED(env, napi_get_dataview_info(env, v, &len, &data, &ab, &byteOffset), b);
  } else if (v.IsArrayBuffer()) {
    Napi::ArrayBuffer ab = v.As<Napi::ArrayBuffer>();
    data = ab.Data();
    len = ab.ByteLength();
  } else {
    ThrowType(env, std::string(what) + " must be a Uint8Array");
  }
  b.data = static_cast<uint8_t*>(data);
  b.len = len;
  return b;
}

Bytes GetBytesOrNull(Napi::Env env, Napi::Value v, const char* what) {
  if (v.IsUndefined() || v.IsNull()) return Bytes{};
  return GetBytes(env, v, what);
}

int64_t GetInt(Napi::Env env, Napi::Value v, const char* what, int64_t lo, int64_t hi) {
  int64_t x = 0;
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || std::trunc(d) != d || d < -9007199254740991.0 || d > 9007199254740991.0)
      ThrowType(env, std::string(what) + " must be an integer");
    x = static_cast<int64_t>(d);
  } else if (v.IsBigInt()) {
    bool lossless = false;
    x = v.As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless) ThrowRange(env, std::string(what) + " is out of range");
  } else {
    ThrowType(env, std::string(what) + " must be a number");
  }
  if (x < lo || x > hi) ThrowRange(env, std::string(what) + " is out of range: " + std::to_string(x));
  return x;
}

int32_t GetFd(Napi::Env env, Napi::Value v, const char* what) {
  return static_cast<int32_t>(GetInt(env, v, what, 0, INT32_MAX));
}

uint32_t GetU32(Napi::Env env, Napi::Value v, const char* what) {
  return static_cast<uint32_t>(GetInt(env, v, what, 0, UINT32_MAX));
}

uint64_t GetU64(Napi::Env env, Napi::Value v, const char* what) {
  if (v.IsBigInt()) {
    bool lossless = false;
    uint64_t u = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (lossless) return u;
    int64_t s = v.As<Napi::BigInt>().Int64Value(&lossless);
    if (lossless) return static_cast<uint64_t>(s);
    ThrowRange(env, std::string(what) + " does not fit in 64 bits");
  }
  return static_cast<uint64_t>(GetInt(env, v, what, INT64_MIN, INT64_MAX));
}

bool Has(Napi::Object o, const char* key) {
  return o.Has(key) && !o.Get(key).IsUndefined();
}

uint32_t OptU32(Napi::Env env, Napi::Object o, const char* key, uint32_t def) {
  return Has(o, key) ? GetU32(env, o.Get(key), key) : def;
}

uint64_t OptU64(Napi::Env env, Napi::Object o, const char* key, uint64_t def) {
  return Has(o, key) ? GetU64(env, o.Get(key), key) : def;
}

int64_t OptInt(Napi::Env env, Napi::Object o, const char* key, int64_t def, int64_t lo, int64_t hi) {
  return Has(o, key) ? GetInt(env, o.Get(key), key, lo, hi) : def;
}

uint32_t ReqU32(Napi::Env env, Napi::Object o, const char* key) {
  if (!Has(o, key)) ThrowType(env, std::string("missing option ") + key);
  return GetU32(env, o.Get(key), key);
}

Napi::Object GetObject(Napi::Env env, Napi::Value v, const char* what) {
  if (!v.IsObject()) ThrowType(env, std::string(what) + " must be an object");
  return v.As<Napi::Object>();
}

static std::string OptString(Napi::Env env, Napi::Object o, const char* key) {
  if (!Has(o, key)) return std::string();
  Napi::Value v = o.Get(key);
  if (!v.IsString()) ThrowType(env, std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

static void CopyName(char* dst, const std::string& name) {
  // BPF object names hold at most 15 bytes plus NUL (BPF_OBJ_NAME_LEN).
  size_t n = name.size() < BPF_OBJ_NAME_LEN - 1 ? name.size() : BPF_OBJ_NAME_LEN - 1;
  memcpy(dst, name.data(), n);
  dst[n] = '\0';
}

// ---- syscalls --------------------------------------------------------------------------------

const char* BpfCmdName(int cmd) {
  switch (cmd) {
    case BPF_MAP_CREATE: return "BPF_MAP_CREATE";
    case BPF_MAP_LOOKUP_ELEM: return "BPF_MAP_LOOKUP_ELEM";
    case BPF_MAP_UPDATE_ELEM: return "BPF_MAP_UPDATE_ELEM";
    case BPF_MAP_DELETE_ELEM: return "BPF_MAP_DELETE_ELEM";
    case BPF_MAP_GET_NEXT_KEY: return "BPF_MAP_GET_NEXT_KEY";
    case BPF_PROG_LOAD: return "BPF_PROG_LOAD";
    case BPF_PROG_TEST_RUN: return "BPF_PROG_TEST_RUN";
    case BPF_PROG_GET_NEXT_ID: return "BPF_PROG_GET_NEXT_ID";
    case BPF_MAP_GET_NEXT_ID: return "BPF_MAP_GET_NEXT_ID";
    case BPF_PROG_GET_FD_BY_ID: return "BPF_PROG_GET_FD_BY_ID";
    case BPF_MAP_GET_FD_BY_ID: return "BPF_MAP_GET_FD_BY_ID";
    case BPF_OBJ_GET_INFO_BY_FD: return "BPF_OBJ_GET_INFO_BY_FD";
    case BPF_MAP_LOOKUP_AND_DELETE_ELEM: return "BPF_MAP_LOOKUP_AND_DELETE_ELEM";
    case BPF_MAP_LOOKUP_BATCH: return "BPF_MAP_LOOKUP_BATCH";
    case BPF_LINK_CREATE: return "BPF_LINK_CREATE";
    case BPF_LINK_GET_FD_BY_ID: return "BPF_LINK_GET_FD_BY_ID";
    case BPF_LINK_GET_NEXT_ID: return "BPF_LINK_GET_NEXT_ID";
    case BPF_ENABLE_STATS: return "BPF_ENABLE_STATS";
    default: return "?";
  }
}

long SysBpf(int cmd, AttrBuf* attr, size_t size) {
  long r = syscall(__NR_bpf, cmd, &attr->attr, size);
  return r < 0 ? -errno : r;
}

long BpfOrThrow(Napi::Env env, int cmd, AttrBuf* attr, size_t size) {
  long r = SysBpf(cmd, attr, size);
  if (r < 0) ThrowErrno(env, std::string("bpf(") + BpfCmdName(cmd) + ")", static_cast<int>(-r));
  return r;
}

int NumPossibleCpus() {
  static int cached = 0;
  if (cached > 0) return cached;
  int count = 0;
  FILE* f = fopen("/sys/devices/system/cpu/possible", "re");
  if (f != nullptr) {
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    // Format: comma-separated ranges "a" or "a-b".
    const char* p = buf;
    while (*p != '\0' && *p != '\n') {
      char* end = nullptr;
      long a = strtol(p, &end, 10);
      if (end == p) break;
      long b = a;
      p = end;
      if (*p == '-') {
        b = strtol(p + 1, &end, 10);
        p = end;
      }
      if (b >= a) count += static_cast<int>(b - a + 1);
      if (*p == ',') p++;
    }
  }
  if (count <= 0) {
    long n = sysconf(_SC_NPROCESSORS_CONF);
    count = n > 0 ? static_cast<int>(n) : 1;
  }
  cached = count;
  return cached;
}

static bool IsPerCpuMap(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

MapShape ShapeFor(uint32_t type, uint32_t keySize, uint32_t valueSize, uint32_t maxEntries) {
  MapShape s;
  s.type = type;
  s.keySize = keySize;
  s.valueSize = valueSize;
  s.maxEntries = maxEntries;
  s.userValueSize = IsPerCpuMap(type)
                        ? ((static_cast<size_t>(valueSize) + 7) & ~static_cast<size_t>(7)) *
                              static_cast<size_t>(NumPossibleCpus())
                        : valueSize;
  return s;
}

// fd -> shape of the map behind it, so that user buffers can be checked against what the kernel
// will read or write (a short buffer would otherwise be overrun by the kernel).
static std::unordered_map<int, MapShape>& MapCache() {
  static std::unordered_map<int, MapShape> cache;
  return cache;
}

void RememberMap(int fd, const MapShape& shape) { MapCache()[fd] = shape; }

void ForgetFd(int fd) { MapCache().erase(fd); }

static void GetInfo(Napi::Env env, int fd, void* info, uint32_t len) {
  AttrBuf a{};
  a.attr.info.bpf_fd = static_cast<uint32_t>(fd);
  a.attr.info.info_len = len;
  a.attr.info.info = Ptr(info);
  BpfOrThrow(env, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a.attr));
}

// BPF_OBJ_GET_INFO_BY_FD fills whatever info struct matches the fd's object, so reading a
// program's info as a map's would silently give garbage: check the fd's anon inode name first
// ("anon_inode:bpf-map", "anon_inode:bpf-prog", "anon_inode:bpf_link"). Skipped without /proc.
static void CheckFdKind(Napi::Env env, int fd, const char* want, const char* what) {
  char path[64];
  char target[128];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, target, sizeof target - 1);
  if (n < 0) {
    if (errno == ENOENT && access("/proc/self/fd", F_OK) == 0) ThrowErrno(env, "bpf(BPF_OBJ_GET_INFO_BY_FD)", EBADF);
    return;
  }
  target[n] = '\0';
  // Links are named after their kind: "anon_inode:bpf_link", "anon_inode:bpf-link", ...
  bool link = strcmp(want, "anon_inode:bpf_link") == 0;
  bool ok = link ? strncmp(target, "anon_inode:bpf", 14) == 0 && strstr(target, "link") != nullptr : strcmp(target, want) == 0;
  if (!ok)
    ThrowType(env, "fd " + std::to_string(fd) + " is not a BPF " + what + " (" + target + ")");
}

const MapShape& MapShapeOf(Napi::Env env, int fd) {
  auto it = MapCache().find(fd);
  if (it != MapCache().end()) return it->second;
  CheckFdKind(env, fd, "anon_inode:bpf-map", "map");
  struct bpf_map_info info;
  memset(&info, 0, sizeof info);
  GetInfo(env, fd, &info, sizeof info);
  MapShape s = ShapeFor(info.type, info.key_size, info.value_size, info.max_entries);
  return MapCache()[fd] = s;
}

static void CheckLen(Napi::Env env, const Bytes& b, size_t need, const char* what, int fd) {
  if (b.len < need)
    ThrowRange(env, std::string(what) + " buffer has " + std::to_string(b.len) + " bytes; map fd " +
                        std::to_string(fd) + " needs " + std::to_string(need));
}

// ---- maps ------------------------------------------------------------------------------------

static Napi::Value MapCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = GetObject(env, info[0], "options");
  AttrBuf a{};
  a.attr.map_type = ReqU32(env, o, "type");
  a.attr.key_size = ReqU32(env, o, "keySize");
  a.attr.value_size = ReqU32(env, o, "valueSize");
  a.attr.max_entries = ReqU32(env, o, "maxEntries");
  a.attr.map_flags = OptU32(env, o, "flags", 0);
  a.attr.inner_map_fd = OptU32(env, o, "innerMapFd", 0);
  a.attr.numa_node = OptU32(env, o, "numaNode", 0);
  a.attr.map_extra = OptU64(env, o, "mapExtra", 0);
  CopyName(a.attr.map_name, OptString(env, o, "name"));
  int fd = static_cast<int>(BpfOrThrow(env, BPF_MAP_CREATE, &a, sizeof(a.attr)));
  RememberMap(fd, ShapeFor(a.attr.map_type, a.attr.key_size, a.attr.value_size, a.attr.max_entries));
  return Napi::Number::New(env, fd);
}

// Key argument: may be null only for maps without keys (queue, stack).
static Bytes KeyArg(Napi::Env env, Napi::Value v, const MapShape& s, int fd, const char* what) {
  Bytes k = GetBytesOrNull(env, v, what);
  // The kernel rejects a non-NULL key for maps whose key_size is 0.
  if (s.keySize == 0) return Bytes{};
  if (k.data == nullptr) ThrowType(env, std::string(what) + " must be a Uint8Array");
  CheckLen(env, k, s.keySize, what, fd);
  return k;
}

static Napi::Value MapElemOp(const Napi::CallbackInfo& info, int cmd) {
  Napi::Env env = info.Env();
  int fd = GetFd(env, info[0], "fd");
  const MapShape& s = MapShapeOf(env, fd);
  AttrBuf a{};
  a.attr.map_fd = static_cast<uint32_t>(fd);
  Bytes key = KeyArg(env, info[1], s, fd, "key");
  a.attr.key = Ptr(key.data);
  Bytes value;
  if (cmd != BPF_MAP_DELETE_ELEM) {
    value = GetBytes(env, info[2], "value");
    CheckLen(env, value, s.userValueSize, "value", fd);
    a.attr.value = Ptr(value.data);
    if (info.Length() > 3 && !info[3].IsUndefined()) a.attr.flags = GetU64(env, info[3], "flags");
  } else if (info.Length() > 2 && !info[2].IsUndefined()) {
    a.attr.flags = GetU64(env, info[2], "flags");
  }
  long r = SysBpf(cmd, &a, sizeof(a.attr));
  if (r < 0) {
    if (r == -ENOENT && cmd != BPF_MAP_UPDATE_ELEM) return Napi::Boolean::New(env, false);
    ThrowErrno(env, std::string("bpf(") + BpfCmdName(cmd) + ")", static_cast<int>(-r));
  }
  if (cmd == BPF_MAP_UPDATE_ELEM) return env.Undefined();
  return Napi::Boolean::New(env, true);
}

static Napi::Value MapLookup(const Napi::CallbackInfo& info) { return MapElemOp(info, BPF_MAP_LOOKUP_ELEM); }
static Napi::Value MapUpdate(const Napi::CallbackInfo& info) { return MapElemOp(info, BPF_MAP_UPDATE_ELEM); }
static Napi::Value MapDelete(const Napi::CallbackInfo& info) { return MapElemOp(info, BPF_MAP_DELETE_ELEM); }
static Napi::Value MapLookupAndDelete(const Napi::CallbackInfo& info) {
  return MapElemOp(info, BPF_MAP_LOOKUP_AND_DELETE_ELEM);
}

static Napi::Value MapGetNextKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = GetFd(env, info[0], "fd");
  const MapShape& s = MapShapeOf(env, fd);
  Bytes key = GetBytesOrNull(env, info[1], "key");
  if (key.data != nullptr) CheckLen(env, key, s.keySize, "key", fd);
  Bytes next = GetBytes(env, info[2], "nextKey");
  CheckLen(env, next, s.keySize, "nextKey", fd);
  AttrBuf a{};
  a.attr.map_fd = static_cast<uint32_t>(fd);
  a.attr.key = Ptr(key.data);
  a.attr.next_key = Ptr(next.data);
  long r = SysBpf(BPF_MAP_GET_NEXT_KEY, &a, sizeof(a.attr));
  if (r == -ENOENT) return Napi::Boolean::New(env, false);
  if (r < 0) ThrowErrno(env, "bpf(BPF_MAP_GET_NEXT_KEY)", static_cast<int>(-r));
  return Napi::Boolean::New(env, true);
}

// mapLookupBatch(fd, inBatch|null, outBatch, keys, values, count, elemFlags?) -> {count, done}
static Napi::Value MapLookupBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = GetFd(env, info[0], "fd");
  const MapShape& s = MapShapeOf(env, fd);
  // The batch token is a u32 bucket index for hash maps and a key for array maps.
  size_t tokenSize = s.keySize > 4 ? s.keySize : 4;
  Bytes in = GetBytesOrNull(env, info[1], "inBatch");
  if (in.data != nullptr) CheckLen(env, in, tokenSize, "inBatch", fd);
  Bytes out = GetBytes(env, info[2], "outBatch");
  CheckLen(env, out, tokenSize, "outBatch", fd);
  Bytes keys = GetBytes(env, info[3], "keys");
  Bytes values = GetBytes(env, info[4], "values");
  uint32_t count = GetU32(env, info[5], "count");
  CheckLen(env, keys, static_cast<size_t>(count) * s.keySize, "keys", fd);
  CheckLen(env, values, static_cast<size_t>(count) * s.userValueSize, "values", fd);
  AttrBuf a{};
  a.attr.batch.in_batch = Ptr(in.data);
  a.attr.batch.out_batch = Ptr(out.data);
  a.attr.batch.keys = Ptr(keys.data);
  a.attr.batch.values = Ptr(values.data);
  a.attr.batch.count = count;
  a.attr.batch.map_fd = static_cast<uint32_t>(fd);
  if (info.Length() > 6 && !info[6].IsUndefined()) a.attr.batch.elem_flags = GetU64(env, info[6], "elemFlags");
  long r = SysBpf(BPF_MAP_LOOKUP_BATCH, &a, sizeof(a.attr));
  bool done = false;
  if (r == -ENOENT) {
    done = true;  // end of the map; count holds what this last call returned
  } else if (r < 0) {
    ThrowErrno(env, "bpf(BPF_MAP_LOOKUP_BATCH)", static_cast<int>(-r));
  }
  Napi::Object res = Napi::Object::New(env);
  res.Set("count", Napi::Number::New(env, a.attr.batch.count));
  res.Set("done", Napi::Boolean::New(env, done));
  return res;
}

// ---- programs --------------------------------------------------------------------------------

static std::string LogString(const std::vector<char>& buf) {
  size_t n = strnlen(buf.data(), buf.size());
  return std::string(buf.data(), n);
}

static Napi::Value ProgLoad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = GetObject(env, info[0], "options");
  uint32_t type = ReqU32(env, o, "type");
  if (!Has(o, "insns")) ThrowType(env, "missing option insns");
  Bytes insns = GetBytes(env, o.Get("insns"), "insns");
  if (insns.len == 0 || insns.len % 8 != 0)
    ThrowRange(env, "insns must be a non-empty multiple of 8 bytes, got " + std::to_string(insns.len));
  if (!Has(o, "license") || !o.Get("license").IsString()) ThrowType(env, "license must be a string");
  std::string license = o.Get("license").As<Napi::String>().Utf8Value();
  std::string name = OptString(env, o, "name");
  uint32_t expected = OptU32(env, o, "expectedAttachType", 0);
  uint32_t progFlags = OptU32(env, o, "progFlags", 0);
  uint32_t kernVersion = OptU32(env, o, "kernVersion", 0);
  uint32_t attachBtfId = OptU32(env, o, "attachBtfId", 0);
  uint32_t attachProgFd = OptU32(env, o, "attachProgFd", 0);
  uint32_t logLevel = OptU32(env, o, "logLevel", 0);
  uint32_t logSize = OptU32(env, o, "logSize", 1u << 20);
  if (logSize < 128) logSize = 128;
  // Kernels before 6.4 refuse log buffers above UINT_MAX >> 8 (16 MiB - 1).
  constexpr uint32_t kMaxLog = UINT32_MAX >> 8;
  if (logSize > kMaxLog) logSize = kMaxLog;

  std::vector<char> log;
  auto attempt = [&](uint32_t level, uint32_t size, uint32_t* trueSize) -> long {
    AttrBuf a{};
    a.attr.prog_type = type;
    a.attr.insn_cnt = static_cast<uint32_t>(insns.len / 8);
    a.attr.insns = Ptr(insns.data);
    a.attr.license = Ptr(license.c_str());
    a.attr.kern_version = kernVersion;
    a.attr.prog_flags = progFlags;
    CopyName(a.attr.prog_name, name);
    a.attr.expected_attach_type = expected;
    a.attr.attach_btf_id = attachBtfId;
    a.attr.attach_prog_fd = attachProgFd;
    if (level > 0) {
      log.assign(size, '\0');
      a.attr.log_level = level;
      a.attr.log_size = size;
      a.attr.log_buf = Ptr(log.data());
    } else {
      log.clear();
    }
    long r = SysBpf(BPF_PROG_LOAD, &a, kProgLoadLogTrueSizeOff + 4);
    if (trueSize != nullptr) memcpy(trueSize, a.raw + kProgLoadLogTrueSizeOff, 4);
    return r;
  };

  uint32_t trueSize = 0;
  long r;
  if (logLevel == 0) {
    // Fast path: no log. On failure, load again with a log buffer to explain why.
    r = attempt(0, 0, nullptr);
    if (r < 0) r = attempt(1, logSize, &trueSize);
  } else {
    r = attempt(logLevel, logSize, &trueSize);
  }
  // ENOSPC: the log did not fit. Kernels 6.4+ report the size needed in log_true_size.
  if (r == -ENOSPC && trueSize > logSize) {
    uint32_t size = trueSize + 1 > kMaxLog ? kMaxLog : trueSize + 1;
    r = attempt(logLevel == 0 ? 1 : logLevel, size, &trueSize);
  }
  if (r < 0) {
    Napi::Error e = ErrnoError(env, "bpf(BPF_PROG_LOAD)", static_cast<int>(-r));
    e.Set("log", Napi::String::New(env, log.empty() ? std::string() : LogString(log)));
    throw e;
  }
  Napi::Object res = Napi::Object::New(env);
  res.Set("fd", Napi::Number::New(env, static_cast<double>(r)));
  if (!log.empty()) res.Set("log", Napi::String::New(env, LogString(log)));
  return res;
}

// progTestRun(progFd, {ctxIn?, ctxOut?, dataIn?, dataOut?, repeat?, flags?, cpu?, batchSize?})
static Napi::Value ProgTestRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = GetFd(env, info[0], "progFd");
  Napi::Object o = info.Length() > 1 && !info[1].IsUndefined() ? GetObject(env, info[1], "options")
                                                                : Napi::Object::New(env);
  Bytes ctxIn = Has(o, "ctxIn") ? GetBytes(env, o.Get("ctxIn"), "ctxIn") : Bytes{};
  Bytes ctxOut = Has(o, "ctxOut") ? GetBytes(env, o.Get("ctxOut"), "ctxOut") : Bytes{};
  Bytes dataIn = Has(o, "dataIn") ? GetBytes(env, o.Get("dataIn"), "dataIn") : Bytes{};
  Bytes dataOut = Has(o, "dataOut") ? GetBytes(env, o.Get("dataOut"), "dataOut") : Bytes{};
  AttrBuf a{};
  a.attr.test.prog_fd = static_cast<uint32_t>(fd);
  a.attr.test.ctx_in = Ptr(ctxIn.data);
  a.attr.test.ctx_size_in = static_cast<uint32_t>(ctxIn.len);
  a.attr.test.ctx_out = Ptr(ctxOut.data);
  a.attr.test.ctx_size_out = static_cast<uint32_t>(ctxOut.len);
  a.attr.test.data_in = Ptr(dataIn.data);
  a.attr.test.data_size_in = static_cast<uint32_t>(dataIn.len);
  a.attr.test.data_out = Ptr(dataOut.data);
  a.attr.test.data_size_out = static_cast<uint32_t>(dataOut.len);
  a.attr.test.repeat = OptU32(env, o, "repeat", 0);
  a.attr.test.flags = OptU32(env, o, "flags", 0);
  a.attr.test.cpu = OptU32(env, o, "cpu", 0);
  a.attr.test.batch_size = OptU32(env, o, "batchSize", 0);
  BpfOrThrow(env, BPF_PROG_TEST_RUN, &a, sizeof(a.attr));
  Napi::Object res = Napi::Object::New(env);
  res.Set("retval", Napi::Number::New(env, a.attr.test.retval));
  res.Set("duration", Napi::Number::New(env, a.attr.test.duration));
  res.Set("dataSizeOut", Napi::Number::New(env, a.attr.test.data_size_out));
  res.Set("ctxSizeOut", Napi::Number::New(env, a.attr.test.ctx_size_out));
  return res;
}

// ---- links -----------------------------------------------------------------------------------

static std::vector<uint64_t> U64Array(Napi::Env env, Napi::Value v, const char* what) {
  if (!v.IsArray()) ThrowType(env, std::string(what) + " must be an array");
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<uint64_t> out(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) out[i] = GetU64(env, arr.Get(i), what);
  return out;
}

template <typename T>
static void Put(AttrBuf* a, size_t off, T v) {
  memcpy(a->raw + off, &v, sizeof v);
}

// linkCreate(progFd, targetFd, attachType, flags?, opts?)
// opts: {cookie?} for BPF_PERF_EVENT; {uprobeMulti: {path, offsets, refCtrOffsets?, cookies?,
// flags?, pid?}} for BPF_TRACE_UPROBE_MULTI/SESSION; {kprobeMulti: {syms? | addrs?, cookies?,
// flags?}} for BPF_TRACE_KPROBE_MULTI/SESSION.
static Napi::Value LinkCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AttrBuf a{};
  a.attr.link_create.prog_fd = static_cast<uint32_t>(GetFd(env, info[0], "progFd"));
  a.attr.link_create.target_fd = GetU32(env, info[1], "targetFd");
  a.attr.link_create.attach_type = GetU32(env, info[2], "attachType");
  a.attr.link_create.flags = info.Length() > 3 && !info[3].IsUndefined() ? GetU32(env, info[3], "flags") : 0;
  size_t size = sizeof(a.attr);

  // Buffers referenced from the attr must outlive the syscall.
  std::string path;
  std::vector<uint64_t> offsets, refCtr, cookies, addrs;
  std::vector<std::string> syms;
  std::vector<uint64_t> symPtrs;

  if (info.Length() > 4 && !info[4].IsUndefined() && !info[4].IsNull()) {
    Napi::Object o = GetObject(env, info[4], "opts");
    if (Has(o, "cookie")) Put<uint64_t>(&a, kLinkCreateUnionOff, GetU64(env, o.Get("cookie"), "cookie"));
    if (Has(o, "uprobeMulti")) {
      Napi::Object u = GetObject(env, o.Get("uprobeMulti"), "uprobeMulti");
      path = OptString(env, u, "path");
      if (path.empty()) ThrowType(env, "uprobeMulti.path must be a non-empty string");
      if (!Has(u, "offsets")) ThrowType(env, "missing uprobeMulti.offsets");
      offsets = U64Array(env, u.Get("offsets"), "uprobeMulti.offsets");
      if (Has(u, "refCtrOffsets")) refCtr = U64Array(env, u.Get("refCtrOffsets"), "uprobeMulti.refCtrOffsets");
      if (Has(u, "cookies")) cookies = U64Array(env, u.Get("cookies"), "uprobeMulti.cookies");
      if ((!refCtr.empty() && refCtr.size() != offsets.size()) ||
          (!cookies.empty() && cookies.size() != offsets.size()))
        ThrowRange(env, "uprobeMulti arrays must all have the same length");
      Put<uint64_t>(&a, kUprobeMultiPathOff, Ptr(path.c_str()));
      Put<uint64_t>(&a, kUprobeMultiOffsetsOff, Ptr(offsets.data()));
      Put<uint64_t>(&a, kUprobeMultiRefCtrOff, refCtr.empty() ? 0 : Ptr(refCtr.data()));
      Put<uint64_t>(&a, kUprobeMultiCookiesOff, cookies.empty() ? 0 : Ptr(cookies.data()));
      Put<uint32_t>(&a, kUprobeMultiCntOff, static_cast<uint32_t>(offsets.size()));
      Put<uint32_t>(&a, kUprobeMultiFlagsOff, OptU32(env, u, "flags", 0));
      Put<uint32_t>(&a, kUprobeMultiPidOff, OptU32(env, u, "pid", 0));
      size = size > kLinkCreateUprobeMultiSize ? size : kLinkCreateUprobeMultiSize;
    } else if (Has(o, "kprobeMulti")) {
      Napi::Object k = GetObject(env, o.Get("kprobeMulti"), "kprobeMulti");
      size_t cnt = 0;
      if (Has(k, "syms")) {
        Napi::Value sv = k.Get("syms");
        if (!sv.IsArray()) ThrowType(env, "kprobeMulti.syms must be an array of strings");
        Napi::Array arr = sv.As<Napi::Array>();
        for (uint32_t i = 0; i < arr.Length(); i++) {
          Napi::Value s = arr.Get(i);
          if (!s.IsString()) ThrowType(env, "kprobeMulti.syms must be an array of strings");
          syms.push_back(s.As<Napi::String>().Utf8Value());
        }
        for (const std::string& s : syms) symPtrs.push_back(Ptr(s.c_str()));
        cnt = syms.size();
      }
      if (Has(k, "addrs")) {
        addrs = U64Array(env, k.Get("addrs"), "kprobeMulti.addrs");
        if (cnt != 0 && addrs.size() != cnt) ThrowRange(env, "kprobeMulti arrays must all have the same length");
        cnt = addrs.size();
      }
      if (Has(k, "cookies")) {
        cookies = U64Array(env, k.Get("cookies"), "kprobeMulti.cookies");
        if (cookies.size() != cnt) ThrowRange(env, "kprobeMulti arrays must all have the same length");
      }
      Put<uint32_t>(&a, kKprobeMultiFlagsOff, OptU32(env, k, "flags", 0));
      Put<uint32_t>(&a, kKprobeMultiCntOff, static_cast<uint32_t>(cnt));
      Put<uint64_t>(&a, kKprobeMultiSymsOff, symPtrs.empty() ? 0 : Ptr(symPtrs.data()));
      Put<uint64_t>(&a, kKprobeMultiAddrsOff, addrs.empty() ? 0 : Ptr(addrs.data()));
      Put<uint64_t>(&a, kKprobeMultiCookiesOff, cookies.empty() ? 0 : Ptr(cookies.data()));
    }
  }
  long r = BpfOrThrow(env, BPF_LINK_CREATE, &a, size);
  return Napi::Number::New(env, static_cast<double>(r));
}

// ---- object info, ids, stats -----------------------------------------------------------------

enum class Kind { Prog, Map, Link };

static Kind KindArg(Napi::Env env, Napi::Value v) {
  if (v.IsString()) {
    std::string s = v.As<Napi::String>().Utf8Value();
    if (s == "prog") return Kind::Prog;
    if (s == "map") return Kind::Map;
    if (s == "link") return Kind::Link;
  }
  ThrowType(env, "kind must be 'prog', 'map' or 'link'");
}

static std::string NameString(const char* name) { return std::string(name, strnlen(name, BPF_OBJ_NAME_LEN)); }

// objInfo(fd, kind)
static Napi::Value ObjInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = GetFd(env, info[0], "fd");
  Kind kind = KindArg(env, info[1]);
  if (kind == Kind::Prog) CheckFdKind(env, fd, "anon_inode:bpf-prog", "program");
  if (kind == Kind::Map) CheckFdKind(env, fd, "anon_inode:bpf-map", "map");
  if (kind == Kind::Link) CheckFdKind(env, fd, "anon_inode:bpf_link", "link");
  Napi::Object res = Napi::Object::New(env);
  if (kind == Kind::Prog) {
    struct bpf_prog_info p;
    memset(&p, 0, sizeof p);
    GetInfo(env, fd, &p, sizeof p);
    char tag[2 * BPF_TAG_SIZE + 1];
    for (int i = 0; i < BPF_TAG_SIZE; i++) snprintf(tag + 2 * i, 3, "%02x", p.tag[i]);
    res.Set("id", Napi::Number::New(env, p.id));
    res.Set("type", Napi::Number::New(env, p.type));
    res.Set("name", Napi::String::New(env, NameString(p.name)));
    res.Set("tag", Napi::String::New(env, tag));
    res.Set("runTimeNs", Napi::BigInt::New(env, static_cast<uint64_t>(p.run_time_ns)));
    res.Set("runCnt", Napi::BigInt::New(env, static_cast<uint64_t>(p.run_cnt)));
    res.Set("recursionMisses", Napi::BigInt::New(env, static_cast<uint64_t>(p.recursion_misses)));
    res.Set("xlatedLen", Napi::Number::New(env, p.xlated_prog_len));
    res.Set("jitedLen", Napi::Number::New(env, p.jited_prog_len));
    res.Set("verifiedInsns", Napi::Number::New(env, p.verified_insns));
  } else if (kind == Kind::Map) {
    struct bpf_map_info m;
    memset(&m, 0, sizeof m);
    GetInfo(env, fd, &m, sizeof m);
    RememberMap(fd, ShapeFor(m.type, m.key_size, m.value_size, m.max_entries));
    res.Set("id", Napi::Number::New(env, m.id));
    res.Set("type", Napi::Number::New(env, m.type));
    res.Set("keySize", Napi::Number::New(env, m.key_size));
    res.Set("valueSize", Napi::Number::New(env, m.value_size));
    res.Set("maxEntries", Napi::Number::New(env, m.max_entries));
    res.Set("flags", Napi::Number::New(env, m.map_flags));
    res.Set("name", Napi::String::New(env, NameString(m.name)));
  } else {
    struct bpf_link_info l;
    memset(&l, 0, sizeof l);
    GetInfo(env, fd, &l, sizeof l);
    res.Set("id", Napi::Number::New(env, l.id));
    res.Set("type", Napi::Number::New(env, l.type));
    res.Set("progId", Napi::Number::New(env, l.prog_id));
  }
  return res;
}

// getNextId(kind, startId) -> next id or null when there is none
static Napi::Value GetNextId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Kind kind = KindArg(env, info[0]);
  AttrBuf a{};
  a.attr.start_id = GetU32(env, info[1], "startId");
  int cmd = kind == Kind::Prog ? BPF_PROG_GET_NEXT_ID : kind == Kind::Map ? BPF_MAP_GET_NEXT_ID : BPF_LINK_GET_NEXT_ID;
  long r = SysBpf(cmd, &a, sizeof(a.attr));
  if (r == -ENOENT) return env.Null();
  if (r < 0) ThrowErrno(env, std::string("bpf(") + BpfCmdName(cmd) + ")", static_cast<int>(-r));
  return Napi::Number::New(env, a.attr.next_id);
}

// getFdById(kind, id) -> fd or null when no such object exists
static Napi::Value GetFdById(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Kind kind = KindArg(env, info[0]);
  AttrBuf a{};
  int cmd;
  if (kind == Kind::Prog) {
    cmd = BPF_PROG_GET_FD_BY_ID;
    a.attr.prog_id = GetU32(env, info[1], "id");
  } else if (kind == Kind::Map) {
    cmd = BPF_MAP_GET_FD_BY_ID;
    a.attr.map_id = GetU32(env, info[1], "id");
  } else {
    cmd = BPF_LINK_GET_FD_BY_ID;
    a.attr.link_id = GetU32(env, info[1], "id");
  }
  long r = SysBpf(cmd, &a, sizeof(a.attr));
  if (r == -ENOENT) return env.Null();
  if (r < 0) ThrowErrno(env, std::string("bpf(") + BpfCmdName(cmd) + ")", static_cast<int>(-r));
  int fd = static_cast<int>(r);
  ForgetFd(fd);  // a fresh fd: drop any stale cached shape
  return Napi::Number::New(env, fd);
}

static Napi::Value EnableStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AttrBuf a{};
  a.attr.enable_stats.type = GetU32(env, info[0], "type");
  long r = BpfOrThrow(env, BPF_ENABLE_STATS, &a, sizeof(a.attr));
  return Napi::Number::New(env, static_cast<double>(r));
}

// ---- perf events -----------------------------------------------------------------------------

// perfEventOpen({type, config, config1?, config2?, samplePeriod?, sampleFreq?, freq?, pid, cpu,
//                groupFd?, flags?, wakeupEvents?, sampleType?, disabled?, attrFlags?})
static Napi::Value PerfEventOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = GetObject(env, info[0], "options");
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = ReqU32(env, o, "type");
  if (!Has(o, "config")) ThrowType(env, "missing option config");
  attr.config = GetU64(env, o.Get("config"), "config");
  // config1/config2 may be a path string (uprobe/kprobe PMU): the kernel copies it during the
  // call, so the string only has to live until perf_event_open returns.
  std::string str1, str2;
  if (Has(o, "config1")) {
    Napi::Value v = o.Get("config1");
    if (v.IsString()) {
      str1 = v.As<Napi::String>().Utf8Value();
      attr.config1 = Ptr(str1.c_str());
    } else {
      attr.config1 = GetU64(env, v, "config1");
    }
  }
  if (Has(o, "config2")) {
    Napi::Value v = o.Get("config2");
    if (v.IsString()) {
      str2 = v.As<Napi::String>().Utf8Value();
      attr.config2 = Ptr(str2.c_str());
    } else {
      attr.config2 = GetU64(env, v, "config2");
    }
  }
  // Raw bitfield word (disabled, inherit, ..., freq, ...) that follows read_format.
  uint64_t bits = OptU64(env, o, "attrFlags", 0);
  memcpy(reinterpret_cast<uint8_t*>(&attr) + offsetof(struct perf_event_attr, read_format) + 8, &bits, 8);
  if (Has(o, "disabled")) attr.disabled = o.Get("disabled").ToBoolean().Value() ? 1 : 0;
  bool freq = Has(o, "freq") ? o.Get("freq").ToBoolean().Value() : Has(o, "sampleFreq");
  if (freq) {
    attr.freq = 1;
    attr.sample_freq = OptU64(env, o, "sampleFreq", 0);
  } else {
    attr.sample_period = OptU64(env, o, "samplePeriod", 0);
  }
  attr.sample_type = OptU64(env, o, "sampleType", 0);
  attr.wakeup_events = OptU32(env, o, "wakeupEvents", 0);
  if (!Has(o, "pid") || !Has(o, "cpu")) ThrowType(env, "perfEventOpen needs pid and cpu");
  int pid = static_cast<int>(GetInt(env, o.Get("pid"), "pid", -1, INT32_MAX));
  int cpu = static_cast<int>(GetInt(env, o.Get("cpu"), "cpu", -1, INT32_MAX));
  int groupFd = static_cast<int>(OptInt(env, o, "groupFd", -1, -1, INT32_MAX));
  unsigned long flags = static_cast<unsigned long>(OptU64(env, o, "flags", PERF_FLAG_FD_CLOEXEC));
  long r = syscall(__NR_perf_event_open, &attr, pid, cpu, groupFd, flags);
  if (r < 0) ThrowErrno(env, "perf_event_open", errno);
  return Napi::Number::New(env, static_cast<double>(r));
}

static void PerfIoctl(Napi::Env env, int fd, unsigned long req, unsigned long arg, const char* name) {
  if (ioctl(fd, req, arg) < 0) ThrowErrno(env, std::string("ioctl(") + name + ")", errno);
}

// perfEventAttach(perfFd, progFd): PERF_EVENT_IOC_SET_BPF then PERF_EVENT_IOC_ENABLE.
static Napi::Value PerfEventAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = GetFd(env, info[0], "perfFd");
  int prog = GetFd(env, info[1], "progFd");
  PerfIoctl(env, fd, PERF_EVENT_IOC_SET_BPF, static_cast<unsigned long>(prog), "PERF_EVENT_IOC_SET_BPF");
  PerfIoctl(env, fd, PERF_EVENT_IOC_ENABLE, 0, "PERF_EVENT_IOC_ENABLE");
  return env.Undefined();
}

static Napi::Value PerfEventEnable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PerfIoctl(env, GetFd(env, info[0], "perfFd"), PERF_EVENT_IOC_ENABLE, 0, "PERF_EVENT_IOC_ENABLE");
  return env.Undefined();
}

static Napi::Value PerfEventDisable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PerfIoctl(env, GetFd(env, info[0], "perfFd"), PERF_EVENT_IOC_DISABLE, 0, "PERF_EVENT_IOC_DISABLE");
  return env.Undefined();
}

// ---- misc ------------------------------------------------------------------------------------

static Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = GetFd(env, info[0], "fd");
  ForgetFd(fd);
  if (close(fd) < 0 && errno != EINTR) ThrowErrno(env, "close", errno);
  return env.Undefined();
}

static Napi::Value PageSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(sysconf(_SC_PAGESIZE)));
}

static Napi::Value NumPossibleCpusJs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), NumPossibleCpus());
}

static Napi::Value Demangle(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) ThrowType(env, "name must be a string");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status), free);
  if (status != 0 || !out) return env.Null();
  return Napi::String::New(env, out.get());
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto fn = [&](const char* name, Napi::Value (*f)(const Napi::CallbackInfo&)) {
    exports.Set(name, Napi::Function::New(env, f, name));
  };
  fn("mapCreate", MapCreate);
  fn("mapLookup", MapLookup);
  fn("mapUpdate", MapUpdate);
  fn("mapDelete", MapDelete);
  fn("mapLookupAndDelete", MapLookupAndDelete);
  fn("mapGetNextKey", MapGetNextKey);
  fn("mapLookupBatch", MapLookupBatch);
  fn("progLoad", ProgLoad);
  fn("progTestRun", ProgTestRun);
  fn("linkCreate", LinkCreate);
  fn("objInfo", ObjInfo);
  fn("getNextId", GetNextId);
  fn("getFdById", GetFdById);
  fn("enableStats", EnableStats);
  fn("perfEventOpen", PerfEventOpen);
  fn("perfEventAttach", PerfEventAttach);
  fn("perfEventEnable", PerfEventEnable);
  fn("perfEventDisable", PerfEventDisable);
  fn("close", Close);
  fn("pageSize", PageSize);
  fn("numPossibleCpus", NumPossibleCpusJs);
  fn("demangle", Demangle);
  InitRingBuf(env, exports);
  return exports;
}

}  // namespace bpfts

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return bpfts::Init(env, exports); }

NODE_API_MODULE(bpfts_native, InitAddon)
