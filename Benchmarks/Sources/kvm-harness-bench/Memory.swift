import BenchmarkGuests
import Glibc
import KVMHarness

/// Memslot and dirty-log costs through the library, beside the kernel's `memslot_perf_test` and
/// `dirty_log_perf_test` run with the same parameters in the same run (the C binaries from `kernelSelftests`, the
/// lead's build of tools/testing/selftests/kvm; without them the baseline columns say so).
///
/// - memslot add: `slots` slots over the C test's 512 MiB + 64 KiB (its "slot setup"), per slot;
/// - memslot move: the last slot moved away and back while a vCPU writes the C test's move area (inactive: below
///   the slot; active: half in it, those writes exiting as MMIO), per iteration, for `moveSeconds` each;
/// - memslot delete: every slot, per slot (the C test frees the VM instead: no baseline);
/// - dirty-log harvest: `KVM_GET_DIRTY_LOG` and `KVM_CLEAR_DIRTY_LOG` (manual protection, initially set, as the C
///   test uses them) after each of `dirtyIterations` passes of `dirtyVCPUs` memstress guests over `dirtyMiB` MiB
///   each, per GiB of logged memory.
struct MemoryCost {
    /// Test slots (the C test's `-s` is one more: it counts its own slot 0); 0 for KVM's maximum less the
    /// harness's own slots.
    var slots: Int
    var moveSeconds: Int
    var dirtyVCPUs: Int
    var dirtyMiB: Int
    var dirtyIterations: Int
    var kernelSelftests: String?
    var directory: String

    static let section = "memory"
    static let gpa: UInt64 = 1 << 36
    static let extra: UInt64 = 64 << 10
    static let memorySize: UInt64 = (512 << 20) + extra
    static let moveSize: UInt64 = 3 * 65536

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func measure(log: (String) -> Void) throws -> [Row] {
        var rows: [Row] = []
        let memslots = try measureMemslots(log: log)
        let dirty = try measureDirtyLog(log: log)

        // The C tests, with the same parameters, in the same run.
        var cMemslot: [String: (setup: Double, perIteration: Double)] = [:]
        var cDirty: (get: Double, clear: Double)?
        var cNote = ""
        var cMemslotCommand = "", cDirtyCommand = ""
        if let directory = kernelSelftests {
            let memslotArguments = ["-f", "3", "-e", "4", "-l", "\(moveSeconds)", "-s", "\(memslots.slots + 1)"]
            cMemslotCommand = "memslot_perf_test " + memslotArguments.joined(separator: " ")
            let memslotRun = try Subprocess.run(directory + "/memslot_perf_test", memslotArguments, directory: self.directory)
            guard memslotRun.status == 0 else {
                throw Failure(description: "\(cMemslotCommand) exited with \(memslotRun.status): \(memslotRun.standardError.suffix(400))")
            }
            cMemslot = Self.parseMemslotPerf(memslotRun.standardOutput + memslotRun.standardError)
            let dirtyArguments = ["-v", "\(dirtyVCPUs)", "-b", "\(dirtyMiB)M", "-i", "\(dirtyIterations)"]
            cDirtyCommand = "dirty_log_perf_test " + dirtyArguments.joined(separator: " ")
            let dirtyRun = try Subprocess.run(directory + "/dirty_log_perf_test", dirtyArguments, directory: self.directory)
            guard dirtyRun.status == 0 else {
                throw Failure(description: "\(cDirtyCommand) exited with \(dirtyRun.status): \(dirtyRun.standardError.suffix(400))")
            }
            cDirty = Self.parseDirtyLogPerf(dirtyRun.standardOutput + dirtyRun.standardError)
            log("memory: the kernel's C tests done")
        } else {
            cNote = "; no kernel C tests here (build them: ../shared/tools/kernel-selftests/): no baseline"
        }

        let perSlot = memslots.addNanoseconds / Double(memslots.slots) / 1000
        let cSetup = cMemslot["move inactive area"]?.setup ?? cMemslot["move active area"]?.setup
        rows.append(
            .info(Self.section, "memslot add (\(memslots.slots) slots over 512 MiB)", unit: "us/slot", library: perSlot,
                  baseline: cSetup.map { $0 * 1e6 / Double(memslots.slots) },
                  ratio: cSetup.map { perSlot / ($0 * 1e6 / Double(memslots.slots)) },
                  detail: "baseline: C slot setup, \(cMemslotCommand)" + cNote))
        for (name, value) in [("move inactive area", memslots.moveInactive), ("move active area", memslots.moveActive)] {
            let c = cMemslot[name].map { $0.perIteration * 1e6 }
            rows.append(
                .info(Self.section, "memslot \(name) (away and back)", unit: "us/iteration", library: value / 1000,
                      baseline: c, ratio: c.map { value / 1000 / $0 },
                      detail: "\(moveSeconds) s of moves; baseline: C best per iteration" + cNote))
        }
        rows.append(
            .info(Self.section, "memslot delete (\(memslots.slots) slots)", unit: "us/slot",
                  library: memslots.deleteNanoseconds / Double(memslots.slots) / 1000,
                  detail: "no C counterpart (the C test frees the VM)"))
        let gib = Double(dirtyVCPUs * dirtyMiB) / 1024
        for (name, value, c) in [
            ("KVM_GET_DIRTY_LOG", dirty.get, cDirty?.get), ("KVM_CLEAR_DIRTY_LOG", dirty.clear, cDirty?.clear),
        ] {
            let library = value / 1e6 / gib
            let baseline = c.map { $0 * 1e3 / gib }
            rows.append(
                .info(Self.section, "\(name) per GiB, all pages dirty", unit: "ms/GiB", library: library,
                      baseline: baseline, ratio: baseline.map { library / $0 },
                      detail: "\(dirtyVCPUs) vCPUs x \(dirtyMiB) MiB, \(dirtyIterations) iterations, mean; baseline: "
                        + "\(cDirtyCommand)" + cNote))
        }
        return rows
    }

    // MARK: memslots

    struct MemslotFigures {
        var slots: Int
        var addNanoseconds: Double
        var deleteNanoseconds: Double
        var moveInactive: Double
        var moveActive: Double
    }

    private func measureMemslots(log: (String) -> Void) throws -> MemslotFigures {
        var figures = MemslotFigures(slots: 0, addNanoseconds: 0, deleteNanoseconds: 0, moveInactive: 0, moveActive: 0)
        for active in [false, true] {
            let vm = try VirtualMachine(configuration: .init())
            // Numbered above the harness's own slots (asking for the lowest free number searches the table).
            let first = (vm.memslots.slots.map(\.slot).max() ?? 0) + 1
            // One number is left for the harness, which registers the rest of its RAM when the first vCPU is added.
            let count = slots > 0 ? slots : Int(vm.check(.memslotCount)) - Int(first) - 1
            let pages = Int(Self.memorySize / 4096)
            let perSlot = pages / count
            var numbers: [UInt32] = []
            numbers.reserveCapacity(count)
            var gpa = Self.gpa
            let start = Measure.now()
            for index in 0..<count {
                let size = UInt64(perSlot + (index == count - 1 ? pages % count : 0)) * 4096
                numbers.append(try vm.addMemslot(first + UInt32(index), gpa: gpa, size: size).slot)
                gpa += size
            }
            let added = Measure.now() - start
            log("memory: \(count) slots added in \(Double(added) / 1e9) s")
            try vm.map(gva: Self.gpa, gpa: Self.gpa, size: Self.memorySize)
            let source = Self.gpa + UInt64((count - 1) * perSlot) * 4096
            guard Self.gpa + Self.memorySize - source >= Self.moveSize / 2 else {
                throw Failure(description: "the last of \(count) slots is smaller than half the move area")
            }
            let area = source - Self.moveSize / (active ? 2 : 1)
            let stop = try vm.hostMemory(gpa: Self.gpa, count: 8)
            stop.storeBytes(of: 0, as: UInt64.self)
            let vcpu = try vm.addVCPU(
                entry: GuestFunction(bench_memory_move_writer), arguments: [area, Self.moveSize, Self.gpa])
            let mmio = source...(source + Self.moveSize / 2 - 1)
            let worker = try BenchThread {
                while true {
                    switch try vcpu.step() {
                    case .ucall(.sync): continue
                    case .exit(.mmio(let access)) where active && access.isWrite && mmio.contains(access.address): continue
                    case .ucall(.done): return
                    case let event: throw Failure(description: "move writer: unexpected \(event)")
                    }
                }
            }
            let last = numbers[count - 1]
            let moveStart = Measure.now()
            var iterations = 0
            while Measure.now() - moveStart < UInt64(moveSeconds) * 1_000_000_000 {
                try vm.moveMemslot(last, to: Self.gpa + Self.memorySize)
                try vm.moveMemslot(last, to: source)
                iterations += 1
            }
            let perIteration = Double(Measure.now() - moveStart) / Double(iterations)
            stop.storeBytes(of: 1, as: UInt64.self)
            if let failure = worker.join() { throw failure }
            let deleteStart = Measure.now()
            for number in numbers { try vm.deleteMemslot(number) }
            let deleted = Measure.now() - deleteStart
            figures.slots = count
            if active {
                figures.moveActive = perIteration
            } else {
                figures.moveInactive = perIteration
                figures.addNanoseconds = Double(added)
                figures.deleteNanoseconds = Double(deleted)
            }
            log("memory: move \(active ? "active" : "inactive"): \(iterations) iterations")
        }
        return figures
    }

    // MARK: dirty log

    private func measureDirtyLog(log: (String) -> Void) throws -> (get: Double, clear: Double) {
        let vm = try VirtualMachine(configuration: .init())
        try vm.enableManualDirtyLogProtection(initiallySet: true)
        let perVCPU = UInt64(dirtyMiB) << 20
        let total = perVCPU * UInt64(dirtyVCPUs)
        let slot: UInt32 = 1
        try vm.addMemslot(slot, gpa: Self.gpa, size: total)
        try vm.map(gva: Self.gpa, gpa: Self.gpa, size: total)
        for index in 0..<dirtyVCPUs {
            try vm.addVCPU(
                entry: GuestFunction(bench_memory_memstress),
                arguments: [Self.gpa + UInt64(index) * perVCPU, perVCPU / 4096])
        }
        var pass: UInt64 = 1
        func onePass() throws {
            // One vCPU after another on this thread: the harvest, not the guests' concurrency, is measured.
            for vcpu in vm.vcpus {
                guard case .ucall(.sync(let arguments)) = try vcpu.step(), arguments[0] == pass else {
                    throw Failure(description: "memstress vCPU \(vcpu.index) did not reach pass \(pass)")
                }
            }
            pass += 1
        }
        try onePass()
        try vm.setMemslotFlags(slot, .logDirtyPages)
        var get: UInt64 = 0, clear: UInt64 = 0
        let pages = Int(total / 4096)
        for _ in 0..<dirtyIterations {
            try onePass()
            let start = Measure.now()
            let bitmap = try vm.dirtyLog(slot: slot)
            let got = Measure.now()
            try vm.clearDirtyLog(slot: slot, bitmap)
            clear += Measure.now() - got
            get += got - start
            guard bitmap.count == pages else {
                throw Failure(description: "\(bitmap.count) of \(pages) pages reported dirty after a full pass")
            }
        }
        log("memory: dirty log done")
        return (Double(get) / Double(dirtyIterations), Double(clear) / Double(dirtyIterations))
    }

    // MARK: the C tests' output

    /// "Testing NAME performance ..." blocks: "Test took Xs for slot setup + ..." and "Best runtime result was Ys
    /// per iteration".
    static func parseMemslotPerf(_ output: String) -> [String: (setup: Double, perIteration: Double)] {
        var results: [String: (setup: Double, perIteration: Double)] = [:]
        var current: String?
        var setup = Double.nan
        for line in output.split(separator: "\n").map(String.init) {
            if let range = line.firstRange(of: "Testing "), let end = line.firstRange(of: " performance with") {
                current = String(line[range.upperBound..<end.lowerBound])
                setup = .nan
            } else if let range = line.firstRange(of: "Test took "), let end = line.firstRange(of: "s for slot setup") {
                setup = min(setup.isNaN ? .infinity : setup, Double(line[range.upperBound..<end.lowerBound]) ?? .nan)
            } else if let name = current, let range = line.firstRange(of: "Best runtime result was "),
                let end = line.firstRange(of: "s per iteration")
            {
                results[name] = (setup, Double(line[range.upperBound..<end.lowerBound]) ?? .nan)
            }
        }
        return results
    }

    /// "(Avg Xs/iteration)" after "Get dirty log over" and "Clear dirty log over".
    static func parseDirtyLogPerf(_ output: String) -> (get: Double, clear: Double)? {
        func average(after prefix: String) -> Double? {
            guard let line = output.split(separator: "\n").first(where: { $0.contains(prefix) }),
                let range = line.firstRange(of: "(Avg "), let end = line.firstRange(of: "s/iteration")
            else { return nil }
            return Double(line[range.upperBound..<end.lowerBound])
        }
        guard let get = average(after: "Get dirty log over"), let clear = average(after: "Clear dirty log over") else {
            return nil
        }
        return (get, clear)
    }
}

/// A joinable thread for a body that may throw (the vCPU beside the timed memslot moves).
final class BenchThread: @unchecked Sendable {
    // Sendable: `failure` is written by the thread before it ends and read after pthread_join.
    private var handle = pthread_t()
    private var failure: Error?
    private let body: () throws -> Void

    init(_ body: @escaping () throws -> Void) throws {
        self.body = body
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&handle, nil, { context in
            // SAFETY: `context` is the retained BenchThread passed below; released here, once.
            let thread = Unmanaged<BenchThread>.fromOpaque(context!).takeRetainedValue()
            do { try thread.body() } catch { thread.failure = error }
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<BenchThread>.fromOpaque(context).release()
            throw MemoryCost.Failure(description: "pthread_create failed: \(result)")
        }
    }

    /// Waits for the body to end and returns what it threw.
    func join() -> Error? {
        pthread_join(handle, nil)
        return failure
    }
}
