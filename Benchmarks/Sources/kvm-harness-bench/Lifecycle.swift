import BenchmarkSupport
import KVMHarness
import RawKVM

/// VM lifecycle: create the VM and a vCPU, load the guest, run to the first ucall, destroy; the library against the
/// raw baseline doing the same steps, and the library with a stand-alone ELF image.
struct Lifecycle {
    var iterations: Int
    var warmup: Int
    /// The stand-alone image (sync_loop.elf), if it was built.
    var imagePath: String?

    static let section = "VM lifecycle"
    static let phases = ["create VM", "load guest code", "add vCPU", "run to first ucall", "destroy"]

    /// The five phase durations of one lifecycle, in nanoseconds.
    typealias Phases = [Double]

    func measure(log: (String) -> Void) throws -> [Row] {
        let image: ELFImage?
        if let imagePath, Subprocess.exists(imagePath) {
            image = try ELFImage(contentsOf: imagePath)
        } else {
            image = nil
        }
        var library: [Phases] = []
        var raw: [Phases] = []
        var imageRuns: [Phases] = []
        for iteration in 0..<(warmup + iterations) {
            // Alternate which side goes first, so that neither always follows the other's teardown.
            let first = iteration % 2 == 0
            var sample: (Phases, Phases, Phases?)
            if first {
                sample.0 = try libraryLifecycle()
                sample.1 = try rawLifecycle()
            } else {
                sample.1 = try rawLifecycle()
                sample.0 = try libraryLifecycle()
            }
            sample.2 = try image.map { try imageLifecycle($0) }
            guard iteration >= warmup else { continue }
            library.append(sample.0)
            raw.append(sample.1)
            if let imageSample = sample.2 { imageRuns.append(imageSample) }
        }
        log("VM lifecycle: \(iterations) iterations done")

        let libraryTotal = Summary(library.map { $0.reduce(0, +) / 1000 })
        let rawTotal = Summary(raw.map { $0.reduce(0, +) / 1000 })
        var rows: [Row] = [
            .checked(
                Self.section, "create, load in-process code, run to 1st ucall, destroy", unit: "us",
                library: libraryTotal.median, baseline: rawTotal.median,
                compared: libraryTotal.median / rawTotal.median,
                comparedText: Format.ratio(libraryTotal.median / rawTotal.median),
                target: Target(bound: .atMost(1.5), text: "<= 1.5x"),
                detail: "p10-p90 \(Format.number(libraryTotal.p10))-\(Format.number(libraryTotal.p90)) vs "
                    + "\(Format.number(rawTotal.p10))-\(Format.number(rawTotal.p90)), n=\(iterations)",
                data: [("library_us", libraryTotal.json), ("raw_us", rawTotal.json)])
        ]
        for (index, phase) in Self.phases.enumerated() {
            let libraryPhase = Summary(library.map { $0[index] / 1000 })
            let rawPhase = Summary(raw.map { $0[index] / 1000 })
            rows.append(
                .info(
                    Self.section, "  \(phase)", unit: "us", library: libraryPhase.median, baseline: rawPhase.median,
                    ratio: libraryPhase.median / rawPhase.median,
                    detail: "p10-p90 \(Format.number(libraryPhase.p10))-\(Format.number(libraryPhase.p90)) vs "
                        + "\(Format.number(rawPhase.p10))-\(Format.number(rawPhase.p90))",
                    data: [("library_us", libraryPhase.json), ("raw_us", rawPhase.json)]))
        }
        if imageRuns.isEmpty {
            rows.append(
                .notMeasured(
                    Self.section, "create, load ELF image, run to 1st ucall, destroy", target: nil,
                    reason: "no image at \(imagePath ?? "(none given)")"))
        } else {
            let imageTotal = Summary(imageRuns.map { $0.reduce(0, +) / 1000 })
            rows.append(
                .info(
                    Self.section, "create, load ELF image, run to 1st ucall, destroy", unit: "us",
                    library: imageTotal.median, baseline: rawTotal.median, ratio: imageTotal.median / rawTotal.median,
                    detail: "sync_loop.elf, parsed once; p10-p90 \(Format.number(imageTotal.p10))-"
                        + "\(Format.number(imageTotal.p90)); baseline: raw C, in-process code",
                    data: [("library_us", imageTotal.json)]))
        }
        return rows
    }

    /// The library: VirtualMachine(), loadCode(containing:) (what addVCPU(entry:) does first for code that is not
    /// loaded yet), addVCPU(entry:), nextUcall(), release.
    func libraryLifecycle() throws -> Phases {
        var times: [UInt64] = []
        func steps() throws {
            times.append(Measure.now())
            let vm = try VirtualMachine()
            times.append(Measure.now())
            try vm.loadCode(containing: GuestLoops.Guest.ucallLoop.entry.address)
            times.append(Measure.now())
            let vcpu = try GuestLoops.addVCPU(.ucallLoop, count: 1, transport: .mmio, to: vm)
            times.append(Measure.now())
            let ucall = try vcpu.nextUcall()
            times.append(Measure.now())
            guard ucall == .sync([0]) else { throw GuestLoops.Failure("first ucall was \(ucall), not SYNC [0]") }
        }
        try steps()
        times.append(Measure.now())
        return zip(times.dropFirst(), times).map { Double($0 - $1) }
    }

    /// The library with a stand-alone image: VirtualMachine(), load(_:), addVCPU(entryAddress:), nextUcall(),
    /// release.
    func imageLifecycle(_ image: ELFImage) throws -> Phases {
        var times: [UInt64] = []
        func steps() throws {
            times.append(Measure.now())
            let vm = try VirtualMachine()
            times.append(Measure.now())
            let loaded = try vm.load(image)
            times.append(Measure.now())
            let vcpu = try vm.addVCPU(entryAddress: loaded.entry, arguments: [0])
            times.append(Measure.now())
            let ucall = try vcpu.nextUcall()
            times.append(Measure.now())
            guard case .sync = ucall else { throw GuestLoops.Failure("the image's first ucall was \(ucall)") }
        }
        try steps()
        times.append(Measure.now())
        return zip(times.dropFirst(), times).map { Double($0 - $1) }
    }

    /// The raw baseline: the same five steps with bare ioctls.
    func rawLifecycle() throws -> Phases {
        let code = GuestLoops.codeBytes
        var times = [Measure.now()]
        let vm = try RawVM()
        times.append(Measure.now())
        var result = raw_vm_copy_code(vm.pointer, code.baseAddress, UInt64(code.count))
        times.append(Measure.now())
        if result == 0 { result = raw_vm_add_vcpu(vm.pointer, GuestLoops.codeOffset(of: .ucallLoop), 1, 0, 0) }
        times.append(Measure.now())
        if result == 0 { result = raw_vm_run_ucalls(vm.pointer, 1) }
        times.append(Measure.now())
        vm.destroy()
        times.append(Measure.now())
        guard result == 0 else { throw GuestLoops.Failure("raw C: \(RawVM.lastError)") }
        return zip(times.dropFirst(), times).map { Double($0 - $1) }
    }
}
