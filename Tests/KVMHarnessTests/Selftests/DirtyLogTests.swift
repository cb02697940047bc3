import Dispatch
import Glibc
import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

/// A port of the `dirty_log_test.c` of Linux 6.12 (the kernel tests built on this machine): a guest writes the host's
/// iteration number into random pages of a logged slot while the host collects the dirty pages each iteration, stops
/// the vCPU, and checks every page: a page reported dirty holds this iteration's number or the last one's; a page not
/// reported holds no later number, and if it holds this iteration's, the next collection must report it. In every
/// mode: `KVM_GET_DIRTY_LOG` (dirty-log), with `KVM_CLEAR_DIRTY_LOG` (clear-log), and the dirty ring (dirty-ring).
///
/// Where the vCPU stops to be checked is the C test's: at a SYNC in the bitmap modes; in dirty-ring mode wherever it
/// stops next, which is at its full ring after a collection made while it ran (the ring still full when the check
/// is done, and `KVM_RUN` called again before the next reset), or at once on the kick still pending after a
/// collection made at a full ring. The first of these is what shows the PVM departure (see `DirtyRingFullTests`).
///
/// Short parameters: 4 MiB + 3 pages (the C test: 1 GiB + 3 pages), 8 iterations of 10 ms (the C test: 32), a ring of
/// 1024 entries (the C test: the largest power of two not above the page count, at most 65536), so the first pass
/// over the pages fills the ring. `scripts/dirty-log-full.sh` runs it with the C test's parameters.
@Suite("selftest dirty_log_test", .requiresKVM, .serialized)
struct DirtyLogTests {
    enum Mode: String, CaseIterable, Sendable {
        case dirtyLog = "dirty-log"
        case clearLog = "clear-log"
        case dirtyRing = "dirty-ring"
    }

    static let slot: UInt32 = 1
    static let gva: UInt64 = 0xc000_0000
    static let gpa: UInt64 = 1 << 36
    static let pages = environment("KVMH_DIRTY_LOG_PAGES") ?? (1 << 10) + 3
    static let iterations = UInt64(environment("KVMH_DIRTY_LOG_ITERATIONS") ?? 8)
    static let interval: useconds_t = 10_000
    /// As in the C test, no larger than the largest power of two not above the page count, so that the guest can
    /// fill the ring (the dirty-ring mode waits for that).
    static let ringEntries = min(environment("KVMH_DIRTY_LOG_RING") ?? 1024, 1 << (Int.bitWidth - 1 - pages.leadingZeroBitCount))
    /// How long the test waits for the vCPU to stop before it fails (a stop takes milliseconds).
    static let stopTimeout = 60.0

    /// The C test's parameters come from the environment for a full run (scripts/dirty-log-full.sh).
    static func environment(_ name: String) -> Int? { getenv(name).flatMap { Int(String(cString: $0)) } }

    @Test("dirty-log mode: collect, stop at a SYNC, verify every page")
    func dirtyLogMode() throws { try dirtyLog(mode: .dirtyLog) }

    @Test("clear-log mode: collect, stop at a SYNC, verify every page", .requires(Capability.manualDirtyLogProtect2))
    func clearLogMode() throws { try dirtyLog(mode: .clearLog) }

    @Test("dirty-ring mode: collect where the ring fills, verify every page", .requires(Capability.dirtyLogRing))
    func dirtyRingMode() throws { try dirtyLog(mode: .dirtyRing) }

    private func dirtyLog(mode: Mode) throws {
        let vm = try VirtualMachine(configuration: .init())
        if mode == .clearLog { try vm.enableManualDirtyLogProtection(initiallySet: true) }
        if mode == .dirtyRing { try vm.enableDirtyRing(entries: Self.ringEntries) }
        let size = UInt64(Self.pages) * 4096
        try vm.addMemslot(Self.slot, gpa: Self.gpa, size: size, flags: .logDirtyPages)
        try vm.map(gva: Self.gva, gpa: Self.gpa, size: size)
        try vm.addVCPU(
            entry: GuestFunction(guest_dirty_log), arguments: [Self.gva, UInt64(Self.pages), 0x6b8b_4567])
        // The guest's own copy of the global, written directly: the modes run in parallel, so the host's copy is
        // not theirs to share.
        let iterationGVA = UInt64(UInt(bitPattern: dirty_log_iteration_address()))
        try vm.write(1 as UInt64, at: iterationGVA)
        let vcpu = vm.vcpus[0]
        let ring = mode == .dirtyRing ? try vm.dirtyRing(of: vcpu) : nil
        let memory = try vm.hostMemory(gpa: Self.gpa, count: Int(size))

        let shared = Shared()
        let worker = try OSThread { shared.drive(vcpu, mode: mode) }
        var verifier = DirtyLogVerifier(pages: Self.pages, ringMode: mode == .dirtyRing)
        var iteration: UInt64 = 1
        while iteration < Self.iterations && shared.failure == nil {
            usleep(Self.interval)
            var bitmap: DirtyBitmap
            switch mode {
            case .dirtyLog:
                bitmap = try vm.dirtyLog(slot: Self.slot)
            case .clearLog:
                bitmap = try vm.dirtyLog(slot: Self.slot)
                try vm.clearDirtyLog(slot: Self.slot, bitmap)
            case .dirtyRing:
                // Kick the vCPU out (which also flushes what the CPU logged), harvest, reset; a vCPU that stopped
                // because its ring was full may continue only after the reset.
                vcpu.kick()
                shared.waitStopped(Self.stopTimeout)
                if shared.failure != nil { continue }
                let full = shared.ringFull
                if !full { shared.resume.signal() }
                bitmap = DirtyBitmap(pageCount: Self.pages)
                let harvested = ring!.harvest()
                for entry in harvested {
                    #expect(entry.slot == Self.slot && entry.page < UInt64(Self.pages), "\(entry)")
                    bitmap[Int(entry.page)] = true
                    verifier.lastRingPage = Int(entry.page)
                }
                #expect(try vm.resetDirtyRings() == harvested.count, "KVM resets exactly the harvested entries")
                if full { shared.resume.signal() }
            }
            // Stop the vCPU and check every page: in the bitmap modes at a SYNC, where the dirty bits and the data
            // agree; in dirty-ring mode, as in the C test, at the vCPU's next stop (its full ring, or the kick still
            // pending), with the ring-full exit's last entry and the register-cached value allowed for.
            if mode != .dirtyRing { shared.requestStop() }
            shared.waitStopped(Self.stopTimeout)
            if shared.failure != nil { continue }
            verifier.verify(bitmap: bitmap, iteration: iteration) { page in
                memory.load(fromByteOffset: page * 4096, as: UInt64.self)
            }
            iteration += 1
            if iteration == Self.iterations { shared.quit() }
            shared.resume.signal()
            try vm.write(iteration, at: iterationGVA)
        }
        if shared.failure != nil { shared.quit(); vcpu.kick(); shared.resume.signal() }
        worker.join()
        #expect(shared.failure == nil)
        #expect(verifier.failures == [])
        #expect(verifier.dirtyCount > 0 && verifier.cleanCount > 0)
        if mode == .dirtyRing { #expect(shared.ringFullStops > 0, "the first pass over the pages fills the ring") }
        // On PVM a vCPU can push more entries after its ring's soft limit than KVM reserves, overwriting the oldest
        // unharvested ones (DirtyRingFullTests): the kernel's dirty-ring mode then fails with "Page N should have its
        // dirty bit set in this iteration but it is missing", N the first entry not yet harvested.
        withKnownIssue("PVM overwrites unharvested dirty-ring entries past a full ring, so a dirty page is missed (as the kernel's dirty_log_test finds on this host)") {
            #expect(verifier.missing == [], "pages written this iteration but not reported in the next")
        } when: {
            HostDepartures.isPVM && mode == .dirtyRing && !verifier.missing.isEmpty
        }
    }

    /// What the vCPU thread and the test share: the C test's semaphores and flags.
    private final class Shared: @unchecked Sendable {
        // Sendable: the flags are behind `lock`; the semaphores are thread-safe.
        let stopped = DispatchSemaphore(value: 0)
        let resume = DispatchSemaphore(value: 0)
        private let lock = Locked((stopRequested: false, quit: false, ringFull: false, failure: String?.none))

        var ringFull: Bool { lock.withLock { $0.ringFull } }
        /// How often the vCPU stopped on KVM_EXIT_DIRTY_RING_FULL.
        private(set) var ringFullStops = 0
        var failure: String? { lock.withLock { $0.failure } }
        /// Waits until the vCPU stops (or fails); a vCPU that does not stop in `seconds` is a failure.
        func waitStopped(_ seconds: Double) {
            if stopped.wait(timeout: .now() + seconds) == .timedOut {
                lock.withLock { $0.failure = $0.failure ?? "the vCPU did not stop within \(Int(seconds)) s" }
            }
        }
        func requestStop() { lock.withLock { $0.stopRequested = true } }
        func quit() { lock.withLock { $0.quit = true } }

        /// Stops (the request, if any, is met), tells the test, and waits to be resumed.
        private func pause(ringFull: Bool) {
            lock.withLock {
                $0.stopRequested = false
                $0.ringFull = ringFull
            }
            stopped.signal()
            resume.wait()
        }

        func drive(_ vcpu: VCPU, mode: Mode) {
            while !lock.withLock({ $0.quit }) {
                let event: VcpuEvent
                do { event = try vcpu.step() } catch {
                    lock.withLock { $0.failure = "\(error)" }
                    stopped.signal()
                    return
                }
                switch event {
                case .ucall(.sync):
                    // Only the bitmap modes stop at a SYNC (the C test's dirty-ring mode lets the vCPU run on).
                    if mode != .dirtyRing, lock.withLock({ $0.stopRequested }) { pause(ringFull: false) }
                case .exit(.other(.dirtyRingFull)) where mode == .dirtyRing:
                    lock.withLock { _ in ringFullStops += 1 }
                    pause(ringFull: true)
                case .kicked where mode == .dirtyRing:
                    vcpu.clearKick()
                    pause(ringFull: false)
                default:
                    lock.withLock { $0.failure = "unexpected \(event)" }
                    stopped.signal()
                    return
                }
            }
        }
    }
}

/// The C test's `vm_dirty_log_verify`, over a page reader: what each page holds against what was reported dirty.
struct DirtyLogVerifier {
    let pages: Int
    let ringMode: Bool
    /// Pages that held this iteration's number without being reported: the next collection must report them.
    private var track: DirtyBitmap
    /// The last page the dirty ring reported (whose write may not have happened yet when the ring filled).
    var lastRingPage = -1
    private var minimumIteration: UInt64 = 0
    private(set) var dirtyCount = 0
    private(set) var cleanCount = 0
    /// Tracked pages the next collection did not report (the dirty-ring departure on PVM).
    private(set) var missing: [String] = []
    /// Every other disagreement.
    private(set) var failures: [String] = []

    init(pages: Int, ringMode: Bool) {
        self.pages = pages
        self.ringMode = ringMode
        track = DirtyBitmap(pageCount: pages)
    }

    mutating func verify(bitmap: DirtyBitmap, iteration: UInt64, value: (Int) -> UInt64) {
        var bitmap = bitmap
        for page in 0..<pages {
            let held = value(page)
            if track.testAndClear(page), !bitmap[page] {
                missing.append("page \(page) (iteration \(iteration))")
            }
            if bitmap.testAndClear(page) {
                dirtyCount += 1
                let matched = held == iteration || held == iteration &- 1
                if ringMode && !matched {
                    // Written just before the ring filled two iterations ago (the value was in a register), once
                    // per iteration; or the last page the ring reported, whose write had not happened yet.
                    if held == iteration &- 2 && iteration >= 2 && minimumIteration <= iteration - 2 {
                        minimumIteration = iteration - 1
                        continue
                    }
                    if page == lastRingPage { continue }
                }
                if !matched { failures.append("dirty page \(page) holds \(held) in iteration \(iteration)") }
            } else {
                cleanCount += 1
                if held > iteration { failures.append("clean page \(page) holds \(held) in iteration \(iteration)") }
                if held == iteration { track[page] = true }
            }
        }
    }
}
