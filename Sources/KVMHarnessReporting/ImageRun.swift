import KVMHarness
/// Why a run could not start, with the exit status `kvm-harness` uses for it: 2 for an unusable image or request,
/// 4 for a host that cannot run guests. `description` is one line.
package struct RunSetupError: Error, Sendable, CustomStringConvertible {
    /// The one-line reason (with a hint where the harness has one).
    package var message: String
    /// `ExitStatus.unusable` or `ExitStatus.hostUnavailable`.
    package var exitStatus: Int32

    /// A setup error with this message and status.
    package init(message: String, exitStatus: Int32) {
        self.message = message
        self.exitStatus = exitStatus
    }

    /// Classifies a `KVMError` met while setting up: errors that say KVM itself cannot be used (opening the
    /// device, API version, capabilities, a failing ioctl or system call) mean the host cannot run guests;
    /// the rest (a ucall address in guest RAM, too many vCPUs, too little memory) mean the request was wrong.
    package init(_ error: KVMError) {
        message = error.description
        switch error {
        case .cannotOpenDevice, .unsupportedAPIVersion, .missingCapability, .ioctlFailed, .systemCallFailed,
            .noUcallAddress:
            exitStatus = ExitStatus.hostUnavailable
        default:
            exitStatus = ExitStatus.unusable
        }
    }

    package var description: String { message }
}

/// Running a stand-alone guest image, as `kvm-harness run` does: parse, create the VM, load, add the vCPUs, run.
package enum ImageRun {
    /// What to run and how.
    package struct Configuration: Sendable {
        /// The default guest RAM: 64 MiB.
        package static let defaultMemorySize = VirtualMachine.Configuration.defaultMemorySize
        /// The default deadline: 30 seconds.
        package static let defaultDeadline = RunOptions.defaultDeadline

        /// The image file.
        package var imagePath: String
        /// How many vCPUs run the image (each starts at `e_entry` with its index in RDI).
        package var vcpuCount: Int
        /// Guest RAM in bytes.
        package var memorySize: UInt64
        /// The ucall MMIO address to use instead of searching for one.
        package var ucallAddress: UInt64?
        /// How long the guest may run; nil for no limit.
        package var deadline: Duration?
        /// Whether to report every exit.
        package var trace: Bool
        /// Whether to report KVM's binary statistics.
        package var statistics: Bool
        /// The KVM device.
        package var devicePath: String
        /// The in-kernel interrupt controller (the library's default: local APICs in the kernel).
        package var interruptController: InterruptController

        /// A configuration; the defaults are one vCPU, 64 MiB, a searched ucall address and 30 seconds.
        package init(
            imagePath: String, vcpuCount: Int = 1, memorySize: UInt64 = Configuration.defaultMemorySize,
            ucallAddress: UInt64? = nil, deadline: Duration? = Configuration.defaultDeadline, trace: Bool = false,
            statistics: Bool = false, devicePath: String = KVM.defaultPath,
            interruptController: InterruptController = .split
        ) {
            self.interruptController = interruptController
            self.imagePath = imagePath
            self.vcpuCount = vcpuCount
            self.memorySize = memorySize
            self.ucallAddress = ucallAddress
            self.deadline = deadline
            self.trace = trace
            self.statistics = statistics
            self.devicePath = devicePath
        }
    }

    /// Reads and checks the image, then builds a VM with the image loaded and `vcpuCount` vCPUs at its entry
    /// point, vCPU i with RDI = i. The image is checked before KVM is opened, so a bad image is reported as such
    /// even on a host without KVM.
    ///
    /// The VM has no in-kernel interrupt controller (`--interrupt-controller none`): a HLT reaches the host as a
    /// HLT exit.
    ///
    /// - Throws: a `RunSetupError` with status 2 (unusable image or request) or 4 (host cannot run guests).
    package static func prepare(_ configuration: Configuration) throws(RunSetupError) -> VirtualMachine {
        let image: ELFImage
        do {
            image = try ELFImage(contentsOf: configuration.imagePath)
        } catch {
            throw RunSetupError(message: "\(configuration.imagePath): \(error)", exitStatus: ExitStatus.unusable)
        }
        guard configuration.vcpuCount >= 1 else {
            throw RunSetupError(
                message: "a VM needs at least one vCPU, not \(configuration.vcpuCount)",
                exitStatus: ExitStatus.unusable)
        }
        return try prepare(configuration, image: image, kvm: try openKVM(path: configuration.devicePath))
    }

    /// Builds a VM with `image` (already read from `configuration.imagePath`) loaded and `vcpuCount` vCPUs at its
    /// entry point, vCPU i with RDI = i, on the KVM handle `kvm`.
    ///
    /// - Throws: a `RunSetupError` with status 2 (unusable image or request) or 4 (host cannot run guests).
    package static func prepare(_ configuration: Configuration, image: ELFImage, kvm: KVM) throws(RunSetupError)
        -> VirtualMachine
    {
        guard configuration.vcpuCount >= 1 else {
            throw RunSetupError(
                message: "a VM needs at least one vCPU, not \(configuration.vcpuCount)",
                exitStatus: ExitStatus.unusable)
        }
        // Checked before the VM exists: otherwise each vCPU takes its share of guest RAM first, and the run fails
        // seconds later as "out of guest memory", naming the wrong limit.
        let limit = Int(kvm.check(.maxVCPUs))
        guard limit <= 0 || configuration.vcpuCount <= limit else {
            throw RunSetupError(
                message: "\(configuration.vcpuCount) vCPUs is more than this host's KVM allows in one VM, \(limit) "
                    + "(KVM_CAP_MAX_VCPUS): ask for at most \(limit) (kvm-harness run --vcpus N)",
                exitStatus: ExitStatus.unusable)
        }
        let vm: VirtualMachine
        do {
            vm = try VirtualMachine(
                configuration: VirtualMachine.Configuration(
                    memorySize: configuration.memorySize, ucallAddress: configuration.ucallAddress,
                    devicePath: configuration.devicePath, interruptController: configuration.interruptController),
                kvm: kvm)
        } catch {
            throw RunSetupError(error)
        }
        let loaded: LoadedGuestImage
        do {
            loaded = try vm.load(image)
        } catch {
            throw RunSetupError(message: "\(configuration.imagePath): \(error)", exitStatus: ExitStatus.unusable)
        }
        do {
            for index in 0..<configuration.vcpuCount {
                try vm.addVCPU(entryAddress: loaded.entry, arguments: [UInt64(index)])
            }
        } catch {
            throw RunSetupError(error)
        }
        return vm
    }

    /// Opens the KVM device (the process-wide handle): any failure means this host cannot run guests (status 4),
    /// whatever the reason (no device, permission denied, not a KVM device, an old API, a missing capability).
    package static func openKVM(path: String = KVM.defaultPath) throws(RunSetupError) -> KVM {
        do {
            return try KVM.shared(path: path)
        } catch {
            throw RunSetupError(message: error.description, exitStatus: ExitStatus.hostUnavailable)
        }
    }

    /// Prepares and runs the image, writing each event in `format` through `write` as it happens (a text run
    /// starts with a line describing the VM); a setup failure goes to `diagnose` as one line and nothing runs.
    ///
    /// - Returns: the process exit status: 0 done, 1 guest failure, 2 unusable image or request, 3 timeout,
    ///   4 host cannot run guests.
    ///
    /// With `record`, the run's record (docs/guest-image-abi.md, "Run records") is written there at the end,
    /// setup failures included.
    package static func execute(
        _ configuration: Configuration, format: OutputFormat, record: RecordRequest? = nil,
        write: @escaping @Sendable (String) -> Void, diagnose: (String) -> Void
    ) -> Int32 {
        let options = ReportingOptions(
            deadline: configuration.deadline, trace: configuration.trace, statistics: configuration.statistics)
        return execute(
            title: configuration.imagePath, options: options, format: format, record: record, write: write,
            diagnose: diagnose
        ) { () throws(RunSetupError) in try prepare(configuration) }
    }

    /// Where `run --record` writes its record, the name the image is recorded under, and the command line.
    package struct RecordRequest: Sendable {
        /// The record file, already opened.
        package var file: OutputFile
        /// The image as the record names it.
        package var image: SuiteImage
        /// The command line.
        package var command: [String]
        /// The KVM device, for the host's description.
        package var devicePath: String

        /// A record request with these fields.
        package init(file: OutputFile, image: SuiteImage, command: [String], devicePath: String = KVM.defaultPath) {
            self.file = file
            self.image = image
            self.command = command
            self.devicePath = devicePath
        }

        /// Writes the record of `result`; a write failure goes to `diagnose`.
        ///
        /// - Returns: whether it was written.
        func write(_ result: ImageResult, diagnose: (String) -> Void) -> Bool {
            let host = (try? KVM.shared(path: devicePath)).map { HostDescription.gather(kvm: $0) }
            let text = ([RunRecord.headerLine(host: host, command: command)] + RunRecord.lines(for: result))
                .joined(separator: "\n") + "\n"
            guard let problem = file.write(text) else { return true }
            diagnose(problem)
            return false
        }
    }

    /// Builds a VM with `prepare` and runs it as `execute(_:format:write:diagnose:)` does: for guests that are
    /// not images, such as in-process C code. `title` names the guest in the text header line.
    package static func execute(
        title: String, options: ReportingOptions, format: OutputFormat, record: RecordRequest? = nil,
        write: @escaping @Sendable (String) -> Void, diagnose: (String) -> Void,
        prepare: () throws(RunSetupError) -> VirtualMachine
    ) -> Int32 {
        let start = ContinuousClock.now
        let vm: VirtualMachine
        do {
            vm = try prepare()
        } catch {
            diagnose(error.message)
            if let record {
                let outcome: ImageResult.Outcome =
                    error.exitStatus == ExitStatus.hostUnavailable
                    ? .hostUnavailable(error.message) : .unusable(error.message)
                let result = ImageResult(
                    image: record.image, vcpus: 1, outcome: outcome,
                    elapsedNanoseconds: nanoseconds(ContinuousClock.now - start))
                _ = record.write(result, diagnose: diagnose)
            }
            return error.exitStatus
        }
        if format == .text {
            let deadline = options.deadline.map { RunEventFormatter.duration(nanoseconds($0)) } ?? "none"
            write(
                "running \(title): \(vm.vcpus.count) vCPU\(vm.vcpus.count == 1 ? "" : "s"), "
                    + "\(ByteCount(vm.configuration.memorySize)) of guest RAM, "
                    + "ucall MMIO address \(hex(vm.ucallAddress)), timeout \(deadline)")
        }
        guard let record else {
            return vm.runReporting(options) { write(RunEventFormatter.format($0, as: format)) }.result.exitStatus
        }
        let events = Locked<[RunEvent]>([])
        let summary = vm.runReporting(options) { event in
            events.withLock { $0.append(event) }
            write(RunEventFormatter.format(event, as: format))
        }
        let result = ImageResult(
            image: record.image, vcpus: vm.vcpus.count, outcome: .ran(summary), events: events.withLock { $0 },
            elapsedNanoseconds: nanoseconds(ContinuousClock.now - start))
        let written = record.write(result, diagnose: diagnose)
        return written || summary.result.exitStatus != ExitStatus.success
            ? summary.result.exitStatus : ExitStatus.guestFailure
    }

    private static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(seconds, 0)) &* 1_000_000_000 &+ UInt64(max(attoseconds, 0) / 1_000_000_000)
    }
}
