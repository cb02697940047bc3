import Glibc

/// A pthread reader-writer lock: many readers at once, or one writer.
///
/// It guards a VM's memslot table (see `VMState.memslotLock`): every ucall decode and every host read or write of
/// guest memory holds it for reading while it touches a slot's host memory, and every change to the table holds it
/// for writing. A writer is preferred over new readers, so a slot change is not starved by vCPUs that make ucalls
/// back to back. pthread rather than an atomic scheme so that ThreadSanitizer sees every handover.
final class ReadWriteLock: @unchecked Sendable {
    // Sendable: the lock lives in memory allocated here, whose address never changes; pthreads does the rest.
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    /// An unlocked lock.
    init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        pthread_rwlockattr_setkind_np(&attributes, CInt(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Runs `body` holding the lock for reading. `body` must not take the lock again (for writing it would wait
    /// for itself; for reading it could wait behind a queued writer).
    @inline(__always)
    func reading<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    /// Runs `body` holding the lock for writing: no reader is inside `reading` meanwhile.
    func writing<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
