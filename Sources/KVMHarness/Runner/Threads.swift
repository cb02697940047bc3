import Glibc

/// A dedicated OS thread: vCPUs run on these because `KVM_RUN` blocks, which must never happen on Swift's
/// cooperative pool.
struct OSThread {
    private let handle: pthread_t

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// Starts `body` on a new thread.
    init(_ body: @escaping @Sendable () -> Void) throws(KVMError) {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { context in
                // SAFETY: `context` is the retained Body passed below; this thread takes over that reference.
                Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
                return nil
            }, context)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw .systemCallFailed(operation: "pthread_create", errno: .init(rawValue: result))
        }
        handle = thread
    }

    /// Waits for the thread to finish.
    func join() { pthread_join(handle, nil) }
}

/// Counts finished workers; a waiter can wait for all of them with a deadline on the monotonic clock.
final class CompletionLatch: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var remaining: Int

    init(count: Int) {
        remaining = count
        pthread_mutex_init(&mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(&condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    /// One worker finished.
    func countDown() {
        pthread_mutex_lock(&mutex)
        remaining -= 1
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }

    /// Waits until every worker finished or `deadline` (monotonic nanoseconds; nil = forever) passed.
    /// Returns true if every worker finished.
    func wait(until deadline: UInt64?) -> Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while remaining > 0 {
            if let deadline {
                var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
                if pthread_cond_timedwait(&condition, &mutex, &time) == ETIMEDOUT { return remaining == 0 }
            } else {
                pthread_cond_wait(&condition, &mutex)
            }
        }
        return true
    }
}

/// Monotonic time in nanoseconds.
func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
}
