// BPF ring buffer (BPF_MAP_TYPE_RINGBUF) consumer woken by Node's event loop.
//
// Layout (kernel/bpf/ringbuf.c, Documentation/bpf/ringbuf.rst): the map fd is mmap'ed as
//   offset 0:         one page holding consumer_pos, writable by user space;
//   offset page size: one page holding producer_pos, then the data area mapped twice in a row
//                     (so a record that wraps around is contiguous), read-only.
// Each record starts with an 8-byte header: u32 len (bit 31 BUSY: still being written,
// bit 30 DISCARD: skip it), u32 page offset (kernel use). Records are 8-byte aligned.
//
// An epoll fd watching the map fd (which is readable while data is pending) is handed to libuv
// with a uv_poll_t, so the callback runs on the JS thread when the kernel wakes consumers.
#include "common.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>
#include <uv.h>

#include <memory>
#include <utility>
#include <vector>

namespace bpfts {
namespace {

constexpr uint32_t kBusyBit = 1u << 31;    // BPF_RINGBUF_BUSY_BIT
constexpr uint32_t kDiscardBit = 1u << 30;  // BPF_RINGBUF_DISCARD_BIT
constexpr uint32_t kHdrSize = 8;            // BPF_RINGBUF_HDR_SZ

class RingBuf : public Napi::ObjectWrap<RingBuf> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "RingBuffer",
                       {
                           InstanceMethod<&RingBuf::PollJs>("poll"),
                           InstanceMethod<&RingBuf::CloseJs>("close"),
                           InstanceMethod<&RingBuf::RefJs>("ref"),
                           InstanceMethod<&RingBuf::UnrefJs>("unref"),
                           InstanceAccessor<&RingBuf::ClosedJs>("closed"),
                           InstanceAccessor<&RingBuf::MapFdJs>("mapFd"),
                       });
  }

  // new RingBuffer(mapFd, callback)
  explicit RingBuf(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RingBuf>(info) {
    Napi::Env env = info.Env();
    int fd = GetFd(env, info[0], "mapFd");
    if (!info[1].IsFunction()) ThrowType(env, "callback must be a function");
    Open(env, fd);
    cb_ = Napi::Persistent(info[1].As<Napi::Function>());
    asyncCtx_ = std::make_unique<Napi::AsyncContext>(env, "bpfts:ringbuf");
    Ref();  // an active consumer stays alive (like a socket) until close()
  }

  ~RingBuf() override { Release(); }

  // Drains available records into the callback. all=false: one pass (event loop);
  // all=true: until empty, bounded by one ring's worth of data.
  size_t Drain(Napi::Env env, bool fromLoop, bool all) {
    // Re-entrant: the callback (or the microtasks that run after it) may call poll() or
    // close(). consumer_pos is advanced before the callback runs, so a nested drain starts
    // after the records already delivered; after a nested close() the ring is gone, so the
    // loop stops before touching it again.
    if (closed_) return 0;

    auto* consPos = static_cast<uint64_t*>(consumer_);
    auto* prodPos = static_cast<const uint64_t*>(producer_);
    const uint8_t* data = static_cast<const uint8_t*>(producer_) + page_;
    size_t delivered = 0;
    uint64_t consumed = 0;
    std::vector<std::pair<uint64_t, uint32_t>> spans;  // (data offset, length)

    for (;;) {
      uint64_t cons = __atomic_load_n(consPos, __ATOMIC_ACQUIRE);
      uint64_t prod = __atomic_load_n(prodPos, __ATOMIC_ACQUIRE);
      uint64_t pos = cons;
      size_t bytes = 0;
      spans.clear();
      while (pos < prod) {
        const auto* hdr = reinterpret_cast<const uint32_t*>(data + (pos & mask_));
        uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
        if (len & kBusyBit) break;  // not committed yet: stop here, retry on the next wakeup
        uint32_t size = len & ~(kBusyBit | kDiscardBit);
        if (!(len & kDiscardBit)) {
          spans.emplace_back((pos + kHdrSize) & mask_, size);
          bytes += size;
        }
        pos += (static_cast<uint64_t>(size) + kHdrSize + 7) & ~static_cast<uint64_t>(7);
      }
      if (pos == cons) break;

      // Copy into JS memory before handing the space back to the producers. Raw N-API calls:
      // from the event loop a failure must not go through Napi::Error, whose constructor
      // aborts when JS execution is being terminated (a worker exiting inside the callback).
      napi_value records = nullptr;
      bool ok = napi_create_array_with_length(env, spans.size(), &records) == napi_ok;
      if (ok && !spans.empty()) {
        void* dst = nullptr;
        napi_value ab = nullptr;
        ok = napi_create_arraybuffer(env, bytes, &dst, &ab) == napi_ok;
        size_t off = 0;
        for (size_t i = 0; ok && i < spans.size(); i++) {
          // The data area is mapped twice in a row, so a wrapped record is contiguous.
          memcpy(static_cast<uint8_t*>(dst) + off, data + spans[i].first, spans[i].second);
          napi_value view = nullptr;
          ok = napi_create_typedarray(env, napi_uint8_array, spans[i].second, ab, off, &view) == napi_ok &&
               napi_set_element(env, records, static_cast<uint32_t>(i), view) == napi_ok;
          off += spans[i].second;
        }
      }
      if (!ok) {
        // Nothing consumed: the records stay in the ring.
        if (fromLoop) {
          ReportLoopFailure(env);
          return delivered;
        }
        throw Napi::Error::New(env);
      }
      __atomic_store_n(consPos, pos, __ATOMIC_RELEASE);
      consumed += pos - cons;

      if (!spans.empty()) {
        delivered += spans.size();
        napi_value fn = cb_.Value();
        napi_value recv = Value();
        napi_status st = fromLoop ? napi_make_callback(env, *asyncCtx_, recv, fn, 1, &records, nullptr)
                                  : napi_call_function(env, recv, fn, 1, &records, nullptr);
        if (st != napi_ok) {
          if (fromLoop) {
            ReportLoopFailure(env);
            return delivered;
          }
          throw Napi::Error::New(env);  // rethrows the callback's exception to poll()'s caller
        }
      }
      if (!all || closed_ || consumed >= size_) break;
    }
    return delivered;
  }

  bool closed() const { return closed_; }

 private:
  void Open(Napi::Env env, int fd) {
    const MapShape& shape = MapShapeOf(env, fd);
    if (shape.type != BPF_MAP_TYPE_RINGBUF)
      ThrowType(env, "map fd " + std::to_string(fd) + " is not a ring buffer (type " +
                         std::to_string(shape.type) + ")");
    mapFd_ = fd;
    size_ = shape.maxEntries;
    mask_ = size_ - 1;
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    // Unwind whatever was set up if a later step fails.
    struct Guard {
      RingBuf* self;
      bool ok = false;
      ~Guard() {
        if (!ok) self->Release();
      }
    } guard{this};

    consumer_ = mmap(nullptr, page_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (consumer_ == MAP_FAILED) {
      consumer_ = nullptr;
      ThrowErrno(env, "mmap(ringbuf consumer page)", errno);
    }
    producerLen_ = page_ + 2 * static_cast<size_t>(size_);
    producer_ = mmap(nullptr, producerLen_, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(page_));
    if (producer_ == MAP_FAILED) {
      producer_ = nullptr;
      ThrowErrno(env, "mmap(ringbuf producer pages)", errno);
    }
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) ThrowErrno(env, "epoll_create1", errno);
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) ThrowErrno(env, "epoll_ctl", errno);

    uv_loop_t* loop = nullptr;
    NAPI_THROW_IF_FAILED_VOID(env, napi_get_uv_event_loop(env, &loop));
    poll_ = new uv_poll_t;
    int r = uv_poll_init(loop, poll_, epfd_);
    if (r < 0) {
      delete poll_;
      poll_ = nullptr;
      ThrowErrno(env, "uv_poll_init", -r);
    }
    poll_->data = this;
    r = uv_poll_start(poll_, UV_READABLE, OnPoll);
    if (r < 0) ThrowErrno(env, "uv_poll_start", -r);
    env_ = env;
    NAPI_THROW_IF_FAILED_VOID(env, napi_add_env_cleanup_hook(env, OnEnvCleanup, this));
    hooked_ = true;
    guard.ok = true;
  }

  // Native teardown; touches no JS, so it is safe from finalizers and env cleanup hooks.
  void Release() {
    closed_ = true;
    if (poll_ != nullptr) {
      uv_poll_stop(poll_);  // also removes epfd_ from libuv's epoll set
      uv_close(reinterpret_cast<uv_handle_t*>(poll_),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (epfd_ >= 0) {
      close(epfd_);
      epfd_ = -1;
    }
    if (producer_ != nullptr) {
      munmap(producer_, producerLen_);
      producer_ = nullptr;
    }
    if (consumer_ != nullptr) {
      munmap(consumer_, page_);
      consumer_ = nullptr;
    }
    if (hooked_) {
      napi_remove_env_cleanup_hook(env_, OnEnvCleanup, this);
      hooked_ = false;
    }
  }

  static void OnEnvCleanup(void* arg) {
    auto* self = static_cast<RingBuf*>(arg);
    self->hooked_ = false;  // the hook is being run: nothing to remove
    self->Release();
  }

  // A failed call from the event loop: report the pending exception (the callback threw) as
  // uncaught, like any exception thrown from an event. No exception value (undefined) means JS
  // is being terminated: nothing to report.
  static void ReportLoopFailure(napi_env env) {
    napi_value exc = nullptr;
    if (napi_get_and_clear_last_exception(env, &exc) != napi_ok || exc == nullptr) return;
    napi_valuetype t;
    if (napi_typeof(env, exc, &t) != napi_ok || t == napi_undefined) return;
    napi_fatal_exception(env, exc);
  }

  static void OnPoll(uv_poll_t* handle, int /*status*/, int /*events*/) {
    auto* self = static_cast<RingBuf*>(handle->data);
    if (self == nullptr || self->closed_) return;
    napi_env env = self->Env();
    napi_handle_scope scope = nullptr;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    try {
      self->Drain(self->Env(), true, false);
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
    napi_close_handle_scope(env, scope);
  }

  Napi::Value PollJs(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(Drain(info.Env(), false, true)));
  }

  Napi::Value CloseJs(const Napi::CallbackInfo& info) {
    if (!released_) {
      released_ = true;
      Release();
      cb_.Reset();
      asyncCtx_.reset();
      Unref();
    }
    return info.Env().Undefined();
  }

  Napi::Value RefJs(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.This();
  }

  Napi::Value UnrefJs(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.This();
  }

  Napi::Value ClosedJs(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), closed_); }

  Napi::Value MapFdJs(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), mapFd_); }

  Napi::FunctionReference cb_;
  std::unique_ptr<Napi::AsyncContext> asyncCtx_;
  napi_env env_ = nullptr;
  int mapFd_ = -1;
  int epfd_ = -1;
  uint32_t size_ = 0;
  uint64_t mask_ = 0;
  size_t page_ = 0;
  size_t producerLen_ = 0;
  void* consumer_ = nullptr;
  void* producer_ = nullptr;
  uv_poll_t* poll_ = nullptr;
  bool closed_ = false;
  bool released_ = false;
  bool hooked_ = false;
};

Napi::FunctionReference* Ctor(Napi::Env env) { return env.GetInstanceData<Napi::FunctionReference>(); }

// ringbufOpen(mapFd, callback) -> RingBuffer
Napi::Value RingbufOpen(const Napi::CallbackInfo& info) {
  return Ctor(info.Env())->New({info[0], info[1]});
}

// ringbufDrain(handle) -> number of records delivered (synchronously, e.g. at exit)
Napi::Value RingbufDrain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[0].As<Napi::Object>().InstanceOf(Ctor(env)->Value()))
    ThrowType(env, "ringbufDrain expects a handle from ringbufOpen");
  RingBuf* rb = RingBuf::Unwrap(info[0].As<Napi::Object>());
  return Napi::Number::New(env, static_cast<double>(rb->Drain(env, false, true)));
}

}  // namespace

void InitRingBuf(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = RingBuf::Define(env);
  env.SetInstanceData<Napi::FunctionReference>(new Napi::FunctionReference(Napi::Persistent(ctor)));
  exports.Set("ringbufOpen", Napi::Function::New(env, RingbufOpen, "ringbufOpen"));
  exports.Set("ringbufDrain", Napi::Function::New(env, RingbufDrain, "ringbufDrain"));
}

}  // namespace bpfts
