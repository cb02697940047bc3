import KVMHarness

/// Runs a suite of images, each in a VM of its own, several at once.
package enum SuiteRunner {
    /// How every image of the suite runs.
    package struct Configuration: Sendable {
        /// How long each image may run; nil for no limit.
        package var deadline: Duration?
        /// How many images run at once.
        package var jobs: Int
        /// Guest RAM of each VM in bytes.
        package var memorySize: UInt64
        /// The KVM device.
        package var devicePath: String
        /// The in-kernel interrupt controller of each VM.
        package var interruptController: InterruptController

        /// A configuration; by default 30 seconds per image, one job, 64 MiB, /dev/kvm, local APICs in the kernel.
        package init(
            deadline: Duration? = ImageRun.Configuration.defaultDeadline, jobs: Int = 1,
            memorySize: UInt64 = ImageRun.Configuration.defaultMemorySize, devicePath: String = KVM.defaultPath,
            interruptController: InterruptController = .split
        ) {
            self.interruptController = interruptController
            self.deadline = deadline
            self.jobs = jobs
            self.memorySize = memorySize
            self.devicePath = devicePath
        }
    }

    /// Runs every image on `configuration.jobs` worker threads and hands each result to `report` in suite order,
    /// as soon as it and every image before it have finished (so reports stream, and read the same whatever the
    /// number of jobs). `report` is never called twice at once.
    ///
    /// - Returns: the results, in suite order.
    package static func run(
        _ images: [SuiteImage], _ configuration: Configuration, kvm: KVM,
        report: @escaping @Sendable (ImageResult) -> Void
    ) -> [ImageResult] {
        let collector = InOrderCollector(count: images.count, report: report)
        runOnWorkerThreads(count: images.count, threads: configuration.jobs) { index in
            collector.finished(index, runImage(images[index], configuration, kvm: kvm))
        }
        return collector.results
    }

    /// Runs one image: reads it and its declaration, skips it if the host lacks what it declares, and otherwise
    /// runs it in a new VM, collecting its events.
    package static func runImage(_ image: SuiteImage, _ configuration: Configuration, kvm: KVM) -> ImageResult {
        let start = ContinuousClock.now
        func finish(_ vcpus: Int, _ outcome: ImageResult.Outcome, _ events: [RunEvent] = []) -> ImageResult {
            let (seconds, attoseconds) = (ContinuousClock.now - start).components
            let elapsed = UInt64(max(seconds, 0)) &* 1_000_000_000 &+ UInt64(max(attoseconds, 0) / 1_000_000_000)
            return ImageResult(
                image: image, vcpus: vcpus, outcome: outcome, events: events, elapsedNanoseconds: elapsed)
        }
        let elf: ELFImage
        do {
            elf = try ELFImage(contentsOf: image.path)
        } catch {
            return finish(1, .unusable("\(image.path): \(error)"))
        }
        let requirements: ImageRequirements
        do {
            requirements = try ImageRequirements(image: elf)
        } catch {
            return finish(1, .unusable("\(image.path): \(error.message)"))
        }
        if let missing = requirements.missing(check: kvm.check, offers: kvm.supports) {
            return finish(requirements.vcpus, .skipped(missing))
        }
        let vm: VirtualMachine
        do {
            vm = try ImageRun.prepare(
                ImageRun.Configuration(
                    imagePath: image.path, vcpuCount: requirements.vcpus, memorySize: configuration.memorySize,
                    deadline: configuration.deadline, devicePath: configuration.devicePath,
                    interruptController: configuration.interruptController),
                image: elf, kvm: kvm)
        } catch {
            let outcome: ImageResult.Outcome =
                error.exitStatus == ExitStatus.hostUnavailable
                ? .hostUnavailable(error.message) : .unusable(error.message)
            return finish(requirements.vcpus, outcome)
        }
        let events = Locked<[RunEvent]>([])
        let summary = vm.runReporting(ReportingOptions(deadline: configuration.deadline)) { event in
            events.withLock { $0.append(event) }
        }
        return finish(requirements.vcpus, .ran(summary), events.withLock { $0 })
    }
}

/// Holds results that finish early until every result before them has been reported.
private final class InOrderCollector: Sendable {
    private struct State {
        var results: [ImageResult?]
        var nextToReport = 0
    }

    private let state: Locked<State>
    private let report: @Sendable (ImageResult) -> Void

    init(count: Int, report: @escaping @Sendable (ImageResult) -> Void) {
        state = Locked(State(results: Array(repeating: nil, count: count)))
        self.report = report
    }

    /// Stores result `index` and reports every result that is now next in order, with the lock held (so reports
    /// never overlap).
    func finished(_ index: Int, _ result: ImageResult) {
        state.withLock { state in
            state.results[index] = result
            while state.nextToReport < state.results.count, let next = state.results[state.nextToReport] {
                report(next)
                state.nextToReport += 1
            }
        }
    }

    /// Every result, once all have finished.
    var results: [ImageResult] { state.withLock { $0.results.compactMap { $0 } } }
}
