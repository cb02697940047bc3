internal import CKVM
import Glibc

/// A dedicated OS thread. vCPUs run on these because `KVM_RUN` blocks, which must never happen on Swift's
/// cooperative pool.
///
/// Every `OSThread` has one owner that joins it exactly once, with `join()` or `joinWithoutBlocking()`: a joinable
/// thread that is never joined keeps its stack mapped for the life of the process.
struct OSThread: Sendable {
    /// Every harness thread's name (`/proc/self/task/*/comm`, debuggers, `top -H`): tests count them to find
    /// threads the library left running.
    static let name = "kvmharness"

    private let handle: pthread_t

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// Starts `body` on a new joinable thread.
    ///
    /// - Throws: `.systemCallFailed("pthread_create")` when the process cannot make another thread.
    init(_ body: @escaping @Sendable () -> Void) throws(KVMError) {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let result = system_pthread_create(
            &thread,
            { context in
                ckvm_name_this_thread(OSThread.name)
                // SAFETY: `context` is the Body retained below; this thread takes over that one reference.
                Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
                return nil
            }, context)
        guard result == 0 else {
            // SAFETY: the thread was not created, so the reference passed to it is still ours to release.
            Unmanaged<Body>.fromOpaque(context).release()
            throw .systemCallFailed(operation: "pthread_create", errno: .init(rawValue: result))
        }
        handle = thread
    }

    /// Waits for the thread to finish and releases it.
    func join() { pthread_join(handle, nil) }

    /// Joins a thread that has already said it is about to finish, from async code, without blocking a cooperative
    /// thread: polls `pthread_tryjoin_np`, yielding between tries. The thread has nothing left to do but return,
    /// so this takes microseconds.
    func joinWithoutBlocking() async {
        var tries = 0
        while ckvm_pthread_tryjoin(handle) == EBUSY {
            tries += 1
            if tries < 64 {
                await Task.yield()
            } else {
                // Descheduled between its last statement and its return: stop spinning.
                try? await Task.sleep(for: .microseconds(50))
            }
        }
    }
}

/// Counts finished workers; a waiter can wait for all of them with a deadline on the monotonic clock.
final class CompletionLatch: Sendable {
    private let remaining: Locked<Int>

    init(count: Int) { remaining = Locked(count) }

    /// One worker finished.
    func countDown() { remaining.broadcast { $0 -= 1 } }

    /// Waits until every worker finished or `deadline` (monotonic nanoseconds; nil = forever) passed.
    /// Returns true if every worker finished.
    func wait(until deadline: UInt64?) -> Bool { remaining.wait(until: deadline) { $0 > 0 } }
}
