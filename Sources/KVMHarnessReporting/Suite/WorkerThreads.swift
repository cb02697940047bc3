import Glibc
import KVMHarness

/// Runs `work(0)` to `work(count - 1)` on `threads` threads, each taking the next index as it finishes one, and
/// returns when every call has returned.
///
/// Threads of its own rather than Swift's cooperative pool: each call runs a VM whose vCPU threads block in
/// `KVM_RUN`, and the pool has only as many threads as cores, so `--jobs 4` on two cores would run two. The
/// calling thread is one of the workers; if the system refuses a thread, fewer workers share the work.
package func runOnWorkerThreads(count: Int, threads: Int, _ work: @escaping @Sendable (Int) -> Void) {
    guard count > 0 else { return }
    let next = Locked(0)
    let worker: @Sendable () -> Void = {
        while true {
            let index = next.withLock { (value: inout Int) -> Int in
                defer { value += 1 }
                return value
            }
            guard index < count else { return }
            work(index)
        }
    }
    var started: [pthread_t] = []
    for _ in 1..<max(1, min(threads, count)) {
        let body = Unmanaged.passRetained(WorkerBody(worker))
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { context in
                // SAFETY: `context` is the WorkerBody retained above, handed to exactly this thread.
                guard let context else { return nil }
                Unmanaged<WorkerBody>.fromOpaque(context).takeRetainedValue().run()
                return nil
            }, body.toOpaque())
        if result == 0 {
            started.append(thread)
        } else {
            body.release()
            break
        }
    }
    worker()
    for thread in started { pthread_join(thread, nil) }
}

/// A worker's closure, boxed to cross `pthread_create`.
private final class WorkerBody: Sendable {
    let run: @Sendable () -> Void

    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}
