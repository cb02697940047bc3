import Dispatch
import Glibc
import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

/// A port of Linux 6.18's `memslot_perf_test.c`: guest memory split over many slots, a guest that writes it while
/// the host drops its host pages (map, unmap, unmap chunked), moves the last slot away and back under it (move
/// active area: the guest's writes to it meanwhile exit as 8-byte MMIO writes inside the moved range, the only
/// exits allowed; move inactive area), or writes and reads it in turn with the guest (RW).
///
/// Every value the guest and the host hand each other is checked (the C test checks the map and unmap values only
/// with `-d`; the port always does). Timing is measured and printed, never asserted; the benchmarks
/// (`scripts/bench.sh --only memory`) take it with the C test's sizes beside the C test.
///
/// Short parameters: 32 slots (the C test: KVM's maximum, `-s`), 8 MiB of test memory (the C test: 512 MiB), 4 MiB
/// for map and unmap (the C test: 32 and 128 MiB), 2 loops of each case (the C test: as many as fit in 5 s, `-l`).
/// `KVMH_MEMSLOT_PERF_SLOTS`, `_MB`, `_LOOPS`, `_SECONDS` set more.
@Suite("selftest memslot_perf_test", .requiresKVM, .serialized)
struct MemslotPerfTests {
    /// The C test's cases, in its order (`-f` / `-e` number them from 0).
    enum Case: String, CaseIterable, Sendable {
        case map
        case unmap
        case unmapChunked = "unmap chunked"
        case moveActive = "move active area"
        case moveInactive = "move inactive area"
        case rw = "RW"
    }

    static let slots = DirtyLogTests.environment("KVMH_MEMSLOT_PERF_SLOTS") ?? 32
    static let testSize = UInt64(DirtyLogTests.environment("KVMH_MEMSLOT_PERF_MB") ?? 8) << 20
    static let loops = DirtyLogTests.environment("KVMH_MEMSLOT_PERF_LOOPS") ?? 2
    /// The C test's `-l`: loop for at least this long (0: just `loops`).
    static let seconds = Double(DirtyLogTests.environment("KVMH_MEMSLOT_PERF_SECONDS") ?? 0)

    @Test("the guest and the host hand memory back and forth over many slots", arguments: Case.allCases)
    func memslotPerf(_ testCase: Case) throws {
        let run = try MemslotPerfRun(testCase, slots: Self.slots, testSize: Self.testSize)
        let result = try run.run(loops: Self.loops, seconds: Self.seconds)
        #expect(result.failures == [])
        #expect(result.loops >= Self.loops)
        print("memslot_perf_test \(testCase.rawValue): \(Self.slots) slots set up in \(result.slotSetup / 1000) µs, "
            + "\(result.loops) loops, \(result.perLoop / 1000) µs each")
    }
}

/// One run of one memslot_perf_test case: the VM, its slots, the vCPU thread, the host's loop.
final class MemslotPerfRun: @unchecked Sendable {
    // Sendable: the vCPU thread writes `failures` only through its lock; everything else is set before it starts.
    typealias Case = MemslotPerfTests.Case

    /// What a run measured and found.
    struct Result {
        var loops = 0
        /// Nanoseconds to add every slot.
        var slotSetup: UInt64 = 0
        /// Nanoseconds per loop of the host.
        var perLoop: UInt64 = 0
        var failures: [String] = []
    }

    static let gpa: UInt64 = 1 << 36
    /// The handshake, then the area the guest writes (the C test's MEM_EXTRA_SIZE).
    static let extra: UInt64 = 64 << 10
    static let timeout: UInt64 = 10_000_000_000

    let testCase: Case
    let vm: VirtualMachine
    let memorySize: UInt64
    let pages: Int
    let pagesPerSlot: Int
    /// Each slot's number and host memory, lowest address first.
    private(set) var slots: [(number: UInt32, memory: UnsafeMutableRawBufferPointer)] = []
    let sync: UnsafeMutablePointer<memslot_perf_sync>
    private let failures = Locked([String]())
    private let ready = DispatchSemaphore(value: 0)
    private var mmioRange: ClosedRange<UInt64>?
    private var slotSetup: UInt64 = 0

    /// The bytes the case's guest uses: the C test's MEM_TEST_MAP_SIZE and MEM_TEST_UNMAP_SIZE, scaled with its
    /// MEM_TEST_SIZE.
    static func area(_ testCase: Case, testSize: UInt64) -> UInt64 {
        switch testCase {
        case .map: return testSize / 16  // 32 of 512 MiB
        case .unmap, .unmapChunked: return max(testSize / 4, 4 << 20)  // 128 of 512 MiB; at least 2 MiB chunks twice
        case .moveActive, .moveInactive, .rw: return testSize
        }
    }

    init(_ testCase: Case, slots count: Int, testSize: UInt64) throws {
        self.testCase = testCase
        let vm = try VirtualMachine(configuration: .init())
        let memorySize = Self.area(testCase, testSize: testSize) + Self.extra
        let pages = Int(memorySize / 4096)
        let pagesPerSlot = pages / count
        precondition(pagesPerSlot > 0, "\(count) slots for \(pages) pages")
        let start = DispatchTime.now().uptimeNanoseconds
        var slots: [(number: UInt32, memory: UnsafeMutableRawBufferPointer)] = []
        var gpa = Self.gpa
        for index in 0..<count {
            let size = UInt64(pagesPerSlot + (index == count - 1 ? pages % count : 0)) * 4096
            let slot = try vm.addMemslot(gpa: gpa, size: size)
            let memory = try vm.hostMemory(gpa: gpa, count: Int(size))
            slots.append((slot.slot, memory))
            gpa += size
        }
        slotSetup = DispatchTime.now().uptimeNanoseconds - start
        try vm.map(gva: Self.gpa, gpa: Self.gpa, size: memorySize)
        self.vm = vm
        self.memorySize = memorySize
        self.pages = pages
        self.pagesPerSlot = pagesPerSlot
        self.slots = slots
        // SAFETY: the handshake is at the start of the first slot, which is 8-byte aligned and outlives the run.
        sync = slots[0].memory.baseAddress!.bindMemory(to: memslot_perf_sync.self, capacity: 1)
    }

    /// The guest-physical address of the first byte of the slot at `index`.
    func slotGPA(_ index: Int) -> UInt64 { Self.gpa + UInt64(index * pagesPerSlot) * 4096 }

    /// The C test's `vm_gpa2hva`: the host address of `gpa` and the pages left in its slot from there.
    func host(_ gpa: UInt64) -> (UnsafeMutableRawPointer, pagesLeft: Int) {
        let page = Int((gpa - Self.gpa) / 4096)
        let index = min(page / pagesPerSlot, slots.count - 1)
        let offset = Int(gpa - slotGPA(index))
        return (slots[index].memory.baseAddress! + offset, (slots[index].memory.count - offset) / 4096)
    }

    /// A flag of the handshake, for the C helpers' atomics.
    private func flag(_ field: KeyPath<memslot_perf_sync, UInt64>) -> UnsafeMutablePointer<UInt64> {
        // SAFETY: the offset of a stored field of the C struct, inside the handshake's memory.
        (UnsafeMutableRawPointer(sync) + MemoryLayout<memslot_perf_sync>.offset(of: field)!)
            .assumingMemoryBound(to: UInt64.self)
    }

    func fail(_ message: String) { failures.withLock { $0.append(message) } }

    /// Runs the guest and the host's loop `loops` times (or, with `seconds`, for at least that long).
    func run(loops minimum: Int, seconds: Double = 0) throws -> Result {
        let testGPA = Self.gpa + Self.extra
        let testSize = memorySize - Self.extra
        let entry: GuestFunction
        var arguments = [Self.gpa, testGPA, testSize]
        switch testCase {
        case .map: entry = GuestFunction(guest_memslot_perf_map)
        case .unmap, .unmapChunked: entry = GuestFunction(guest_memslot_perf_unmap)
        case .rw: entry = GuestFunction(guest_memslot_perf_rw)
        case .moveActive, .moveInactive:
            entry = GuestFunction(guest_memslot_perf_move)
            arguments = [Self.gpa]
            let source = slotGPA(slots.count - 1)
            let active = testCase == .moveActive
            if active {
                let (_, left) = host(source)
                guard UInt64(left) * 4096 >= MEMSLOT_PERF_MOVE_SIZE / 2 else {
                    throw KVMError.invalidArgument("the last slot is smaller than half the move area: use fewer slots")
                }
                mmioRange = source...(source + MEMSLOT_PERF_MOVE_SIZE / 2 - 1)
            }
            sync.pointee.move_area = source - MEMSLOT_PERF_MOVE_SIZE / (active ? 2 : 1)
        }
        let vcpu = try vm.addVCPU(entry: entry, arguments: arguments)
        let thread = try OSThread { [self] in worker(vcpu) }
        if ready.wait(timeout: .now() + 10) != .success { fail("no SYNC from the guest within 10 s") }

        let start = DispatchTime.now().uptimeNanoseconds
        memslot_perf_set(flag(\.start), 1)
        var loops = 0
        var elapsed: UInt64 = 0
        while failures.withLock({ $0.isEmpty }) && (loops < minimum || Double(elapsed) < seconds * 1e9) {
            do { try loop(testGPA: testGPA, testSize: testSize) } catch {
                fail("\(error)")
                break
            }
            loops += 1
            elapsed = DispatchTime.now().uptimeNanoseconds - start
        }
        memslot_perf_set(flag(\.exit), 1)
        if !failures.withLock({ $0.isEmpty }) { vcpu.kick() }
        thread.join()
        return Result(
            loops: loops, slotSetup: slotSetup, perLoop: loops > 0 ? elapsed / UInt64(loops) : 0,
            failures: failures.withLock { $0 })
    }

    /// The C test's `vcpu_worker`: a SYNC(0) says the guest is up; MMIO writes are allowed only in the range the
    /// active move uses; DONE ends it.
    private func worker(_ vcpu: VCPU) {
        while true {
            do {
                switch try vcpu.step() {
                case .ucall(.sync(let arguments)) where arguments[0] == 0: ready.signal()
                case .ucall(.done): return
                case .exit(.mmio(let access)):
                    guard let range = mmioRange, access.isWrite, access.length == 8, range.contains(access.address)
                    else {
                        fail("unexpected MMIO \(access)")
                        return
                    }
                case .kicked: return
                case let event:
                    fail("unexpected \(event)")
                    return
                }
            } catch {
                fail("\(error)")
                return
            }
        }
    }

    /// The C test's `host_perform_sync`.
    private func handshake() {
        if !memslot_perf_host_sync(sync, Self.timeout) { fail("the guest did not take a handshake within 10 s") }
    }

    /// Checks the guest's value at page `page` of the test area, then zeroes it (the C test's `-d` checks).
    private func check(page: Int, _ expected: UInt64, testGPA: UInt64) {
        let word = host(testGPA + UInt64(page) * 4096).0.assumingMemoryBound(to: UInt64.self)
        if word.pointee != expected {
            fail("page \(page) of the test area holds \(hex(word.pointee)), not \(hex(expected))")
        }
        word.pointee = 0
    }

    /// The C test's `test_memslot_do_unmap`: MADV_DONTNEED over `count` pages from page `first`, slot by slot.
    private func unmap(first: Int, count: Int, testGPA: UInt64) {
        var gpa = testGPA + UInt64(first) * 4096
        var done = 0
        while done < count {
            let (pointer, left) = host(gpa)
            let chunk = min(left, count - done)
            if madvise(pointer, chunk * 4096, MADV_DONTNEED) != 0 { fail("madvise(MADV_DONTNEED) at \(hex(gpa)): errno \(errno)") }
            done += chunk
            gpa += UInt64(chunk) * 4096
        }
    }

    private func loop(testGPA: UInt64, testSize: UInt64) throws {
        let testPages = Int(testSize / 4096)
        switch testCase {
        case .map:
            // Drop the second half while the guest writes the first; then the first while it writes the second.
            unmap(first: testPages / 2, count: testPages / 2, testGPA: testGPA)
            handshake()
            check(page: 0, MEMSLOT_PERF_VALUE_1, testGPA: testGPA)
            check(page: testPages / 2 - 1, MEMSLOT_PERF_VALUE_1, testGPA: testGPA)
            unmap(first: 0, count: testPages / 2, testGPA: testGPA)
            handshake()
            check(page: testPages / 2, MEMSLOT_PERF_VALUE_2, testGPA: testGPA)
            check(page: testPages - 1, MEMSLOT_PERF_VALUE_2, testGPA: testGPA)
        case .unmap, .unmapChunked:
            let chunk = testCase == .unmap ? 1 : 512
            handshake()
            check(page: 0, MEMSLOT_PERF_VALUE_1, testGPA: testGPA)
            for first in stride(from: 0, to: testPages / 2, by: chunk) { unmap(first: first, count: chunk, testGPA: testGPA) }
            handshake()
            check(page: testPages / 2, MEMSLOT_PERF_VALUE_2, testGPA: testGPA)
            for first in stride(from: testPages / 2, to: testPages, by: chunk) {
                unmap(first: first, count: chunk, testGPA: testGPA)
            }
        case .moveActive, .moveInactive:
            let last = slots[slots.count - 1].number
            try vm.moveMemslot(last, to: Self.gpa + memorySize)
            try vm.moveMemslot(last, to: slotGPA(slots.count - 1))
        case .rw:
            for page in 0..<testPages {
                host(testGPA + UInt64(page) * 4096 + 2048).0.storeBytes(of: MEMSLOT_PERF_VALUE_2, as: UInt64.self)
            }
            handshake()
            for page in 0..<testPages { check(page: page, MEMSLOT_PERF_VALUE_1, testGPA: testGPA) }
            handshake()
        }
    }
}
