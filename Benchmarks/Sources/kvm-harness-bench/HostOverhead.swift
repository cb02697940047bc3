import BenchmarkSupport
import KVMHarness
import RawKVM

/// Host overhead per ucall: the library's public API against the raw-KVM baseline, both running bench_ucall_loop
/// (the identical guest instruction stream), MMIO and PIO.
struct HostOverhead {
    /// SYNC ucalls per run (each run also ends with DONE).
    var count: UInt64
    /// Runs of each variant; the variants take turns within a round, in alternating order, so that drift in the
    /// machine's speed affects them alike.
    var rounds: Int

    enum Variant: String, CaseIterable {
        case libraryNextUcall = "library, nextUcall loop"
        case libraryRun = "library, VirtualMachine.run"
        case raw = "raw C"
        /// The baseline with the kernel work the library asks for: KVM copying registers into kvm_run.
        case rawSyncGPRs = "raw C + KVM_SYNC_X86_REGS"
        case rawSyncSpecial = "raw C + KVM_SYNC_X86_SREGS"
        case rawSyncBoth = "raw C + SYNC_REGS+SREGS"
        /// ... and the user-space work the library does: the page walk to the struct and reading its header, in C.
        case rawDecoding = "raw C + SYNC_REGS+SREGS + C page walk"

        /// The `kvm_valid_regs` mask (KVM_SYNC_X86_REGS = 1, KVM_SYNC_X86_SREGS = 2).
        var validRegisters: UInt64 {
            switch self {
            case .rawSyncGPRs: return 1
            case .rawSyncSpecial: return 2
            case .rawSyncBoth, .rawDecoding: return 3
            default: return 0
            }
        }
    }

    /// Wall time and user CPU of one run, per ucall.
    struct Sample {
        var wallNanoseconds: Double
        var userNanoseconds: Double
    }

    static let section = "host overhead per ucall"

    func measure(log: (String) -> Void) throws -> [Row] {
        var samples: [String: [Sample]] = [:]
        let variants = Variant.allCases
        for round in 0..<rounds {
            for transport in GuestLoops.Transport.allCases {
                let order = round % 2 == 0 ? variants : variants.reversed()
                for variant in order {
                    let sample = try run(variant, transport: transport)
                    samples[key(variant, transport), default: []].append(sample)
                }
            }
            log("host overhead: round \(round + 1) of \(rounds) done")
        }

        var rows: [Row] = []
        for transport in GuestLoops.Transport.allCases {
            func wall(_ variant: Variant) -> Summary { Summary(samples[key(variant, transport)]!.map(\.wallNanoseconds)) }
            func user(_ variant: Variant) -> Summary { Summary(samples[key(variant, transport)]!.map(\.userNanoseconds)) }
            // Each round runs every variant back to back, so a ratio within a round cancels what the machine
            // did over the whole round; the median of the rounds' ratios drops the rounds a burst of other work
            // hit on one side only.
            func ratio(_ variant: Variant, to baseline: Variant) -> Summary {
                let measured = samples[key(variant, transport)]!
                let reference = samples[key(baseline, transport)]!
                return Summary(zip(measured, reference).map { $0.wallNanoseconds / $1.wallNanoseconds })
            }
            func describe(_ ratios: Summary, _ measured: Summary, _ reference: Summary) -> String {
                "median of \(ratios.count) per-round ratios, p10-p90 \(Format.fixed(ratios.p10, 3))-"
                    + "\(Format.fixed(ratios.p90, 3)); ratio of minimums \(Format.fixed(measured.min / reference.min, 3))"
            }
            let rawWall = wall(.raw)
            let rawUser = user(.raw)
            for variant in [Variant.libraryNextUcall, .libraryRun] {
                let library = wall(variant)
                let ratios = ratio(variant, to: .raw)
                rows.append(
                    .checked(
                        Self.section, "wall time, \(transport.rawValue), \(variant.rawValue) vs raw C", unit: "ns",
                        library: library.median, baseline: rawWall.median, compared: ratios.median,
                        comparedText: Format.ratio(ratios.median), target: Target(bound: .atMost(1.03), text: "<= 1.03x"),
                        detail: describe(ratios, library, rawWall),
                        data: [("library", library.json), ("raw", rawWall.json), ("ratios", ratios.json)]))
            }
            let explanations: [Variant: String] = [
                .rawSyncGPRs: "KVM copies the GPRs into kvm_run at each exit (the library needs RDI for PIO)",
                .rawSyncSpecial: "KVM copies the special registers (the library needs CR3 for the page walk)",
                .rawSyncBoth: "the kernel-side cost of what the library asks KVM for",
                .rawDecoding: "... plus the library's user-space work, done in C: page walk and 64-byte read",
            ]
            for variant in [Variant.rawSyncGPRs, .rawSyncSpecial, .rawSyncBoth, .rawDecoding] {
                let summary = wall(variant)
                let ratios = ratio(variant, to: .raw)
                rows.append(
                    .info(
                        Self.section, "wall time, \(transport.rawValue), \(variant.rawValue) vs raw C", unit: "ns",
                        library: summary.median, baseline: rawWall.median, ratio: ratios.median,
                        detail: explanations[variant]!, data: [("samples", summary.json), ("ratios", ratios.json)]))
            }
            let decoding = wall(.rawDecoding)
            let nextUcall = wall(.libraryNextUcall)
            let swiftRatios = ratio(.libraryNextUcall, to: .rawDecoding)
            rows.append(
                .info(
                    Self.section, "wall time, \(transport.rawValue), library nextUcall vs the same work in C", unit: "ns",
                    library: nextUcall.median, baseline: decoding.median, ratio: swiftRatios.median,
                    detail: "what the Swift code adds over raw C + SYNC_REGS+SREGS + C page walk",
                    data: [("ratios", swiftRatios.json)]))
            for variant in [Variant.libraryNextUcall, .libraryRun] {
                let library = user(variant)
                rows.append(
                    .checked(
                        Self.section, "user CPU, \(transport.rawValue), \(variant.rawValue)", unit: "us",
                        library: library.median / 1000, baseline: rawUser.median / 1000,
                        compared: library.median / 1000, comparedText: Format.number(library.median / 1000) + " us",
                        target: Target(bound: .atMost(0.5), text: "<= 0.5 us"),
                        detail: "getrusage user time / ucalls; baseline: raw C's, the floor of a bare KVM_RUN loop here",
                        data: [("library_ns", library.json), ("raw_ns", rawUser.json)]
                    ).allowingZero())
            }
        }
        return rows
    }

    private func key(_ variant: Variant, _ transport: GuestLoops.Transport) -> String {
        "\(variant.rawValue) \(transport.rawValue)"
    }

    /// One timed run of `count` SYNC ucalls and DONE; the VM is built before the clock starts and destroyed after
    /// it stops.
    func run(_ variant: Variant, transport: GuestLoops.Transport) throws -> Sample {
        let ucalls = Double(count + 1)
        switch variant {
        case .libraryNextUcall, .libraryRun:
            let vm = try GuestLoops.makeVM(.ucallLoop, count: count, transport: transport)
            let wallStart = Measure.now()
            let userStart = Measure.userCPU()
            let delivered: UInt64
            if variant == .libraryNextUcall {
                delivered = try GuestLoops.driveWithNextUcall(vm.vcpus[0], count: count)
            } else {
                delivered = try GuestLoops.runAll(vm, count: count)
            }
            let user = Measure.userCPU() - userStart
            let wall = Measure.now() - wallStart
            guard delivered == count + 1 else { throw GuestLoops.Failure("\(variant.rawValue): \(delivered) ucalls") }
            return Sample(wallNanoseconds: Double(wall) / ucalls, userNanoseconds: Double(user) / ucalls)
        case .raw, .rawSyncGPRs, .rawSyncSpecial, .rawSyncBoth, .rawDecoding:
            let vm = try RawVM(count: count, transport: transport, validRegisters: variant.validRegisters)
            defer { vm.destroy() }
            var checksum: UInt64 = 0
            let wallStart = Measure.now()
            let userStart = Measure.userCPU()
            let result =
                variant == .rawDecoding
                ? raw_vm_run_ucalls_decoding(vm.pointer, count + 1, &checksum) : raw_vm_run_ucalls(vm.pointer, count + 1)
            let user = Measure.userCPU() - userStart
            let wall = Measure.now() - wallStart
            guard result == 0 else { throw GuestLoops.Failure("raw C: \(RawVM.lastError)") }
            guard variant != .rawDecoding || checksum == count * (count - 1) / 2 else {
                throw GuestLoops.Failure("raw C decoded the wrong ucalls (checksum \(checksum))")
            }
            return Sample(wallNanoseconds: Double(wall) / ucalls, userNanoseconds: Double(user) / ucalls)
        }
    }
}

/// A raw-KVM baseline VM (RawKVM.h) running the hand-written loop.
struct RawVM {
    let pointer: OpaquePointer

    /// The last error of the baseline.
    static var lastError: String { String(cString: raw_kvm_last_error()) }

    /// A VM with `memorySize` bytes of RAM and no vCPU.
    init(memorySize: UInt64 = VirtualMachine.Configuration.defaultMemorySize) throws {
        guard let vm = raw_vm_create(memorySize) else { throw GuestLoops.Failure("raw C: \(Self.lastError)") }
        pointer = vm
    }

    /// A VM whose vCPU runs bench_ucall_loop with `count` ucalls.
    init(
        count: UInt64, transport: GuestLoops.Transport, validRegisters: UInt64 = 0,
        memorySize: UInt64 = VirtualMachine.Configuration.defaultMemorySize
    ) throws {
        try self.init(memorySize: memorySize)
        do {
            try load(count: count, transport: transport, validRegisters: validRegisters)
        } catch {
            destroy()
            throw error
        }
    }

    /// Copies the hand-written code into the guest and creates the vCPU at bench_ucall_loop.
    func load(count: UInt64, transport: GuestLoops.Transport, validRegisters: UInt64 = 0) throws {
        let code = GuestLoops.codeBytes
        let result = raw_vm_load(
            pointer, code.baseAddress, UInt64(code.count), GuestLoops.codeOffset(of: .ucallLoop), count,
            transport == .pio ? 1 : 0, validRegisters)
        guard result == 0 else { throw GuestLoops.Failure("raw C: \(Self.lastError)") }
    }

    func destroy() { raw_vm_destroy(pointer) }
}
