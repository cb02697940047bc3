import Glibc

/// A value behind a pthread mutex, with a condition variable for waiters: the one lock of the package.
///
/// Built like swift-nio's `NIOLockedValueBox`: the mutex and condition live in memory allocated here, whose address
/// never changes (a `var` of a class is not promised a stable address, so it cannot be handed to pthreads by `&`).
/// It is pthread rather than `Synchronization.Mutex` for two reasons: the run's latch needs a condition variable
/// with a monotonic-clock deadline, which `Mutex` lacks, and ThreadSanitizer sees every pthread handover, while
/// `Mutex` hands contended locks over inside an uninstrumented runtime library, which TSan reports as data races
/// (seen in this package's suite: `scripts/tsan.sh`).
package final class Locked<Value>: @unchecked Sendable {
    // Sendable: `value` is only read or written with `mutex` held (every access is in `withLock`, `wait` or
    // `broadcast`), so it may cross threads when Value itself may; `mutex` and `condition` are set once in init.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var value: Value

    /// A lock around `value`.
    package init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` with the lock held and the value lent to it.
    @inline(__always)
    package func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }

    /// Changes the value with the lock held and wakes every thread in `wait(until:while:)`.
    package func broadcast(_ change: (inout Value) -> Void) {
        pthread_mutex_lock(mutex)
        change(&value)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Waits while `condition(value)` holds, until `deadline` (monotonic nanoseconds; nil for none).
    ///
    /// - Returns: false if the deadline passed with the condition still holding.
    package func wait(until deadline: UInt64?, while waiting: (Value) -> Bool) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while waiting(value) {
            if let deadline {
                var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
                if pthread_cond_timedwait(condition, mutex, &time) == ETIMEDOUT { return !waiting(value) }
            } else {
                pthread_cond_wait(condition, mutex)
            }
        }
        return true
    }
}
