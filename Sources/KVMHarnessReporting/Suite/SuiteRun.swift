import Glibc
import KVMHarness

/// How `kvm-harness test` prints a suite.
package enum SuiteFormat: String, Sendable, CaseIterable {
    /// One line per image and the counts.
    case text
    /// The image blocks of a run record (image, events, verdict) and a closing `suite` line.
    case json
    /// KTAP version 1, as kselftest prints it.
    case ktap
}

/// `kvm-harness test`: find the images, take this shard's, run them, and report in every form asked for.
package enum SuiteRun {
    /// What to run and how to report it.
    package struct Request: Sendable {
        /// Image files and directories.
        package var paths: [String]
        /// The part of the suite this runner takes.
        package var shard: Shard
        /// How each image runs, and how many at once.
        package var configuration: SuiteRunner.Configuration
        /// The stdout format.
        package var format: SuiteFormat
        /// Where to write JUnit XML, if anywhere.
        package var junitPath: String?
        /// Where to write the run record, if anywhere.
        package var recordPath: String?
        /// The command line, for the record and the JUnit properties.
        package var command: [String]

        /// A request with these fields.
        package init(
            paths: [String], shard: Shard = .all, configuration: SuiteRunner.Configuration = .init(),
            format: SuiteFormat = .text, junitPath: String? = nil, recordPath: String? = nil, command: [String] = []
        ) {
            self.paths = paths
            self.shard = shard
            self.configuration = configuration
            self.format = format
            self.junitPath = junitPath
            self.recordPath = recordPath
            self.command = command
        }
    }

    /// Runs the suite, writing stdout lines through `write` as images finish (in suite order) and one-line
    /// problems through `diagnose`.
    ///
    /// - Returns: the exit status: 0 every image passed or was skipped, 1 one failed or could not be run, 2 a
    ///   usage error (nothing run), 3 one timed out, 4 this host cannot run guests.
    package static func execute(
        _ request: Request, write: @escaping @Sendable (String) -> Void, diagnose: (String) -> Void
    ) -> Int32 {
        let start = ContinuousClock.now
        let all: [SuiteImage]
        let junit: OutputFile?
        let record: OutputFile?
        do {
            all = try SuitePlan.discover(request.paths)
            junit = try request.junitPath.map { path throws(RunSetupError) in
                try OutputFile(path: path, purpose: "JUnit XML")
            }
            record = try request.recordPath.map { path throws(RunSetupError) in
                try OutputFile(path: path, purpose: "run record")
            }
        } catch {
            diagnose(error.message)
            return error.exitStatus
        }
        let images = SuitePlan.select(all, shard: request.shard)
        let kvm: KVM
        do {
            kvm = try ImageRun.openKVM(path: request.configuration.devicePath)
        } catch {
            diagnose(error.message)
            return error.exitStatus
        }
        let host = HostDescription.gather(kvm: kvm)
        let jobs = request.configuration.jobs

        switch request.format {
        case .text:
            write(
                SuiteTextReport.header(
                    imageCount: images.count, of: all.count, shard: request.shard, jobs: jobs,
                    deadline: request.configuration.deadline))
        case .ktap:
            let part = request.shard == .all ? "" : ", shard \(request.shard) of \(all.count) images"
            for line in KTAPReport.header(
                imageCount: images.count,
                title: "kvm-harness \(kvmHarnessVersion) test: jobs \(jobs)\(part); host: \(host.summary)")
            {
                write(line)
            }
        case .json:
            break
        }
        let format = request.format
        let numbers = Locked(0)
        let results = SuiteRunner.run(images, request.configuration, kvm: kvm) { result in
            switch format {
            case .text: write(SuiteTextReport.line(for: result))
            case .json: for line in RunRecord.lines(for: result) { write(line) }
            case .ktap:
                let number = numbers.withLock { (value: inout Int) -> Int in
                    value += 1
                    return value
                }
                for line in KTAPReport.lines(for: result, number: number) { write(line) }
            }
        }
        let elapsed = nanoseconds(ContinuousClock.now - start)
        let totals = SuiteTotals(results)
        switch format {
        case .text: write(SuiteTextReport.closing(totals, elapsedNanoseconds: elapsed))
        case .json: write(RunRecord.suiteLine(totals, elapsedNanoseconds: elapsed, shard: request.shard, jobs: jobs))
        case .ktap: write(KTAPReport.totals(totals))
        }

        var status = totals.exitStatus
        if let junit {
            var properties: [(name: String, value: String)] = [
                ("kvm-harness.version", kvmHarnessVersion),
                ("kvm-harness.command", request.command.joined(separator: " ")),
                ("kvm-harness.shard", request.shard.description), ("host.cpu", host.summary),
            ]
            for capability in host.capabilities {
                properties.append(("host.\(capability.name)", "\(capability.value)"))
            }
            let xml = JUnitReport.document(
                results, suiteName: "kvm-harness", elapsedNanoseconds: elapsed, timestamp: isoTimestamp(),
                hostname: host.hostname, properties: properties)
            if let problem = junit.write(xml) {
                diagnose(problem)
                status = max(status, ExitStatus.guestFailure)
            }
        }
        if let record {
            var text = RunRecord.headerLine(host: host, command: request.command) + "\n"
            for result in results { text += RunRecord.lines(for: result).joined(separator: "\n") + "\n" }
            if let problem = record.write(text) {
                diagnose(problem)
                status = max(status, ExitStatus.guestFailure)
            }
        }
        return status
    }

    /// The current UTC time as ISO 8601 without a zone ("2026-11-30T16:00:00"), as JUnit's `timestamp` has it.
    package static func isoTimestamp() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):"
            + "\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }

    private static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(seconds, 0)) &* 1_000_000_000 &+ UInt64(max(attoseconds, 0) / 1_000_000_000)
    }
}
