import BenchmarkSupport
import KVMHarness
import RawKVM

/// Scale: VM creation time and resident memory as guest RAM grows, and ucall throughput with more vCPUs than host
/// cores.
struct Scale {
    var creations: Int
    var memorySizes: [UInt64] = [64 << 20, 256 << 20, 1 << 30, 4 << 30]
    var vcpuCounts: [Int] = [1, 2, 4, 8]
    /// Ucalls per throughput run, split evenly among the vCPUs.
    var throughputUcalls: UInt64
    var throughputRounds: Int

    static let section = "scale"

    func measure(log: (String) -> Void) throws -> [Row] {
        var rows: [Row] = []
        var libraryMedians: [Double] = []
        var rawMedians: [Double] = []
        var memslotRows: [Row] = []
        // Each side in its own loop: destroying a VM leaves kernel work behind (KVM frees its reverse maps with
        // vfree, whose unmapping is deferred to a later vmalloc), so interleaving the two sides would charge one the
        // other's teardown. Within a side, every iteration makes one VM of each size in turn, so whatever drifts
        // over time (leftovers of the previous section, other load) lands on all sizes alike; measured one size
        // after another, the first size read up to 20% high. The first iterations (up to 10) only warm up.
        let warmUp = min(10, creations)
        var library = [[Double]](repeating: [], count: memorySizes.count)
        var raw = [[Double]](repeating: [], count: memorySizes.count)
        var memslot = [[Double]](repeating: [], count: memorySizes.count)
        for iteration in 0..<(creations + warmUp) {
            for (index, size) in memorySizes.enumerated() {
                let time = try libraryCreation(size)
                if iteration >= warmUp { library[index].append(time) }
            }
        }
        for iteration in 0..<(creations + warmUp) {
            for (index, size) in memorySizes.enumerated() {
                let (time, memslotTime) = try rawCreation(size)
                if iteration >= warmUp {
                    raw[index].append(time)
                    memslot[index].append(memslotTime)
                }
            }
        }
        for (index, size) in memorySizes.enumerated() {
            let memslotSummary = Summary(memslot[index])
            memslotRows.append(
                .info(
                    Self.section, "KVM_SET_USER_MEMORY_REGION alone, \(Self.describe(size)) (raw C)", unit: "us",
                    library: memslotSummary.median,
                    detail: "KVM's per-memslot metadata (rmaps for its shadow MMU) grows with the slot",
                    data: [("raw_us", memslotSummary.json)]))
            let librarySummary = Summary(library[index])
            let rawSummary = Summary(raw[index])
            libraryMedians.append(librarySummary.median)
            rawMedians.append(rawSummary.median)
            rows.append(
                .info(
                    Self.section, "VM creation, \(Self.describe(size))", unit: "us", library: librarySummary.median,
                    baseline: rawSummary.median, ratio: librarySummary.median / rawSummary.median,
                    detail: "p10-p90 \(Format.number(librarySummary.p10))-\(Format.number(librarySummary.p90)) vs "
                        + "\(Format.number(rawSummary.p10))-\(Format.number(rawSummary.p90))",
                    data: [("library_us", librarySummary.json), ("raw_us", rawSummary.json)]))
        }
        let spread = libraryMedians.max()! / libraryMedians.min()!
        let rawSpread = rawMedians.max()! / rawMedians.min()!
        rows.append(
            .checked(
                Self.section, "VM creation, slowest / fastest median, 64 MiB to 4 GiB", unit: "x", library: spread,
                baseline: rawSpread, compared: spread, comparedText: Format.ratio(spread),
                target: Target(bound: .atMost(1.2), text: "<= 1.2x"),
                detail: "baseline: the same spread for raw C"))
        rows += memslotRows
        log("scale: creation times done")

        for size in memorySizes {
            let (before, after) = try residentGrowth(size)
            rows.append(
                .info(
                    Self.section, "RSS growth, VM of \(Self.describe(size)) at its 1st ucall", unit: "MiB",
                    library: (Double(after) - Double(before)) / Double(1 << 20),
                    detail: "process RSS \(Format.number(Double(before) / Double(1 << 20))) MiB before; "
                        + "KVM's own kernel allocations are not in it",
                    data: [("rss_before", .number(Double(before))), ("rss_after", .number(Double(after)))]
                ).allowingNegative())
        }

        for vcpus in vcpuCounts {
            var rates: [Double] = []
            let perVCPU = max(throughputUcalls / UInt64(vcpus), 1)
            for _ in 0..<throughputRounds {
                let vm = try GuestLoops.makeVM(.ucallLoop, count: perVCPU, vcpus: vcpus)
                let start = Measure.now()
                let delivered = try GuestLoops.runAll(vm, count: perVCPU)
                let elapsed = Measure.now() - start
                rates.append(Double(delivered) / (Double(elapsed) / 1e9))
            }
            let summary = Summary(rates)
            rows.append(
                .info(
                    Self.section, "ucall throughput, \(vcpus) vCPU\(vcpus == 1 ? "" : "s") (VirtualMachine.run)",
                    unit: "ucalls/s", library: summary.median,
                    detail: "\(perVCPU) ucalls per vCPU, \(throughputRounds) runs, min \(Format.number(summary.min))",
                    data: [("rates", summary.json)]))
        }
        log("scale: throughput done")
        return rows
    }

    static func describe(_ size: UInt64) -> String {
        size >= 1 << 30 ? "\(size >> 30) GiB" : "\(size >> 20) MiB"
    }

    /// Creating a VM with `size` bytes of RAM and no vCPU (timed), then destroying it (not timed).
    private func libraryCreation(_ size: UInt64) throws -> Double {
        let start = Measure.now()
        let vm = try VirtualMachine(configuration: VirtualMachine.Configuration(memorySize: size))
        let elapsed = Measure.now() - start
        withExtendedLifetime(vm) {}
        return Double(elapsed) / 1000
    }

    /// The raw baseline's creation time and, inside it, the RAM memslot ioctl's, in microseconds.
    private func rawCreation(_ size: UInt64) throws -> (Double, Double) {
        let start = Measure.now()
        let vm = try RawVM(memorySize: size)
        let elapsed = Measure.now() - start
        let memslot = raw_vm_memslot_nanoseconds(vm.pointer)
        vm.destroy()
        return (Double(elapsed) / 1000, Double(memslot) / 1000)
    }

    /// Process RSS before creating a VM of `size` bytes and after its vCPU made its first ucall.
    private func residentGrowth(_ size: UInt64) throws -> (UInt64, UInt64) {
        let before = Measure.residentBytes()
        let vm = try GuestLoops.makeVM(.ucallLoop, count: 1, memorySize: size)
        let ucall = try vm.vcpus[0].nextUcall()
        guard ucall == .sync([0]) else { throw GuestLoops.Failure("first ucall was \(ucall)") }
        let after = Measure.residentBytes()
        withExtendedLifetime(vm) {}
        return (before, after)
    }
}
