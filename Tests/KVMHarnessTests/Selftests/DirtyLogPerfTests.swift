import Dispatch
import Glibc
import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

/// A port of Linux 6.18's `dirty_log_perf_test.c` (on the memstress guest): each vCPU writes every page of its own
/// memory once per iteration and stops at a SYNC; after the first pass (populating the memory) the host turns dirty
/// logging on, and each iteration it lets every vCPU make one pass, then harvests the log (`KVM_GET_DIRTY_LOG`, and
/// with `KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2`, as the C test uses it where offered, `KVM_CLEAR_DIRTY_LOG`); `get` is
/// the C test's `-g`.
///
/// The C test only times; the port also checks what it harvested: every page reported dirty, each holding the
/// iteration's pass, and nothing dirty in a second harvest while no vCPU runs. Timing is printed, never asserted;
/// the benchmarks (`scripts/bench.sh --only memory`) take it beside the C test.
///
/// Short parameters: 2 vCPUs with 1 MiB each, 3 iterations (the C test: `-v 1 -b 1G -i 2`); `KVMH_DIRTY_PERF_VCPUS`,
/// `_MB`, `_ITERATIONS` set more.
@Suite("selftest dirty_log_perf_test", .requiresKVM, .serialized)
struct DirtyLogPerfTests {
    enum Mode: String, CaseIterable, Sendable {
        /// `-g`: KVM_GET_DIRTY_LOG clears and write-protects.
        case get
        /// The C test's default: manual protection (initially set), KVM_GET_DIRTY_LOG then KVM_CLEAR_DIRTY_LOG.
        case getAndClear = "get+clear"
    }

    static let vcpus = DirtyLogTests.environment("KVMH_DIRTY_PERF_VCPUS") ?? 2
    static let bytesPerVCPU = UInt64(DirtyLogTests.environment("KVMH_DIRTY_PERF_MB") ?? 1) << 20
    static let iterations = DirtyLogTests.environment("KVMH_DIRTY_PERF_ITERATIONS") ?? 3
    static let slot: UInt32 = 1
    static let gpa: UInt64 = 1 << 36

    @Test("KVM_GET_DIRTY_LOG: harvest the pages every vCPU wrote, iteration after iteration")
    func getDirtyLog() throws { try dirtyLogPerf(mode: .get) }

    @Test("KVM_GET_DIRTY_LOG + KVM_CLEAR_DIRTY_LOG: the same", .requires(Capability.manualDirtyLogProtect2))
    func getAndClearDirtyLog() throws { try dirtyLogPerf(mode: .getAndClear) }

    private func dirtyLogPerf(mode: Mode) throws {
        let vm = try VirtualMachine(configuration: .init())
        let manual = mode == .getAndClear
        if manual { try vm.enableManualDirtyLogProtection(initiallySet: true) }
        let total = Self.bytesPerVCPU * UInt64(Self.vcpus)
        let pages = Int(total / 4096)
        try vm.addMemslot(Self.slot, gpa: Self.gpa, size: total)
        try vm.map(gva: Self.gpa, gpa: Self.gpa, size: total)
        for index in 0..<Self.vcpus {
            try vm.addVCPU(
                entry: GuestFunction(guest_memstress),
                arguments: [Self.gpa + UInt64(index) * Self.bytesPerVCPU, Self.bytesPerVCPU / 4096])
        }
        let memory = try vm.hostMemory(gpa: Self.gpa, count: Int(total))
        let passes = MemstressPasses(vm.vcpus)
        defer { passes.finish() }

        var clock = DispatchTime.now().uptimeNanoseconds
        func lap() -> UInt64 {
            let now = DispatchTime.now().uptimeNanoseconds
            defer { clock = now }
            return now - clock
        }
        try #require(passes.runOnePass() == [])  // iteration 0: populate
        let populate = lap()
        try vm.setMemslotFlags(Self.slot, .logDirtyPages)
        let enable = lap()
        var dirtying: UInt64 = 0, getting: UInt64 = 0, clearing: UInt64 = 0
        for iteration in 1...Self.iterations {
            _ = lap()
            try #require(passes.runOnePass() == [])
            dirtying += lap()
            let bitmap = try vm.dirtyLog(slot: Self.slot)
            getting += lap()
            if manual {
                try vm.clearDirtyLog(slot: Self.slot, bitmap)
                clearing += lap()
            }
            #expect(bitmap.count == pages, "iteration \(iteration): \(bitmap.count) of \(pages) pages reported dirty")
            let pass = UInt64(iteration + 1)
            let stale = (0..<pages).filter { memory.load(fromByteOffset: $0 * 4096, as: UInt64.self) != pass }
            #expect(stale.isEmpty, "iteration \(iteration): \(stale.count) pages do not hold pass \(pass)")
            let again = try vm.dirtyLog(slot: Self.slot)
            #expect(again.isEmpty, "iteration \(iteration): \(again.count) pages dirty again with no vCPU running")
            if manual, !again.isEmpty { try vm.clearDirtyLog(slot: Self.slot, again) }
            _ = lap()
        }
        try vm.setMemslotFlags(Self.slot, [])
        let disable = lap()
        let count = UInt64(Self.iterations)
        print("dirty_log_perf_test \(mode.rawValue): \(Self.vcpus) vCPUs × \(Self.bytesPerVCPU >> 20) MiB: "
            + "populate \(populate / 1000) µs, enable \(enable / 1000) µs, per iteration: dirty "
            + "\(dirtying / count / 1000) µs, get \(getting / count / 1000) µs, clear \(clearing / count / 1000) µs; "
            + "disable \(disable / 1000) µs")
    }
}

/// The memstress vCPU threads: each vCPU runs to its next SYNC when told to, then waits.
final class MemstressPasses: @unchecked Sendable {
    // Sendable: `failures` is behind its lock; the semaphores are thread-safe; the rest is set in init.
    private let go: [DispatchSemaphore]
    private let done = DispatchSemaphore(value: 0)
    private let failures = Locked([String]())
    private let quit = Locked(false)
    private var threads: [OSThread] = []

    init(_ vcpus: [VCPU]) {
        go = vcpus.map { _ in DispatchSemaphore(value: 0) }
        threads = vcpus.compactMap { vcpu in
            try? OSThread { [self] in
                var expected: UInt64 = 1
                while true {
                    go[vcpu.index].wait()
                    if quit.withLock({ $0 }) { return }
                    let failure: String?
                    do {
                        switch try vcpu.step() {
                        case .ucall(.sync(let arguments)) where arguments[0] == expected: failure = nil
                        case let event: failure = "vCPU \(vcpu.index) at pass \(expected): \(event)"
                        }
                    } catch { failure = "vCPU \(vcpu.index): \(error)" }
                    if let failure { failures.withLock { $0.append(failure) } }
                    expected += 1
                    done.signal()
                }
            }
        }
    }

    /// Lets every vCPU make one pass over its memory, waits for all of them, and says what went wrong.
    func runOnePass() -> [String] {
        guard threads.count == go.count else { return ["could not start a thread per vCPU"] }
        for semaphore in go { semaphore.signal() }
        for _ in go { done.wait() }
        return failures.withLock { $0 }
    }

    /// Ends the threads (each is waiting for its next pass); once only.
    func finish() {
        guard !quit.withLock({ $0 }) else { return }
        quit.withLock { $0 = true }
        for semaphore in go { semaphore.signal() }
        for thread in threads { thread.join() }
    }
}
