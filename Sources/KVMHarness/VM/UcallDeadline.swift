internal import Synchronization

extension VCPU {
    /// Runs the guest until its next ucall, as `nextUcall()` does, but for at most `timeout`: a guest that loops,
    /// halts for good or faults forever without an exit (an arm64 guest whose exception vectors fault, for example)
    /// ends the wait with `.ucallTimedOut` instead of hanging the test.
    ///
    /// A watchdog thread kicks the vCPU when the time is up; the vCPU is left runnable again (`clearKick()`), so a
    /// test can inspect it or go on. A kick that lands after the ucall arrived is cleared too, so it never stops the
    /// next run. Costs a thread per call: for step-by-step tests, not for loops of thousands of ucalls (use `run()`,
    /// whose deadline covers every vCPU at once).
    ///
    /// - Throws: `.ucallTimedOut` with the vCPU's program counter, or what `nextUcall()` throws.
    public func nextUcall(timeout: Duration) throws(KVMError) -> Ucall {
        let started = monotonicNanoseconds()
        let (deadline, overflow) = started.addingReportingOverflow(timeout.saturatingNanoseconds)
        let answered = CompletionLatch(count: 1)
        let fired = Atomic<Bool>(false)
        let watchdog = try OSThread { [self] in
            if !answered.wait(until: overflow ? nil : deadline) {
                fired.store(true, ordering: .sequentiallyConsistent)
                kick()
            }
        }
        let result: Result<Ucall, KVMError>
        do throws(KVMError) {
            result = .success(try nextUcall())
        } catch {
            result = .failure(error)
        }
        answered.countDown()
        watchdog.join()
        guard fired.load(ordering: .sequentiallyConsistent) else { return try result.get() }
        clearKick()
        if case .failure(.interrupted) = result {
            let seconds = Double(timeout.saturatingNanoseconds) / 1e9
            throw .ucallTimedOut(vcpu: index, seconds: seconds, programCounter: programCounterAtLastExit)
        }
        return try result.get()
    }
}
