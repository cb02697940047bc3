import Glibc
import KVMHarness

/// A run record: what `kvm-harness test --record` and `run --record` write, and `kvm-harness diff` compares.
///
/// JSON Lines. The first line describes the record and the host (`{"event":"record","format":1,...}`); then, for
/// each image, an `image` line, the image's events exactly as `run --format json` prints them, and a `verdict`
/// line. `kvm-harness test --format json` prints the same image blocks (without the record line) and ends with a
/// `suite` line.
package enum RunRecord {
    /// The record format this tool writes and reads.
    package static let formatVersion = 1

    /// The first line: the tool, the command line and the host.
    package static func headerLine(host: HostDescription?, command: [String]) -> String {
        var object: JSONObject = ["event": .string("record"), "format": .int(Int64(formatVersion))]
        object["tool"] = .string("kvm-harness \(kvmHarnessVersion)")
        object["command"] = .array(command.map { .string($0) })
        object["host"] = host.map { .object($0.json) } ?? .null
        return object.rendered
    }

    /// An image's block: its `image` line, its events and its `verdict` line.
    package static func lines(for result: ImageResult) -> [String] {
        var image: JSONObject = ["event": .string("image"), "name": .string(result.image.name)]
        image["path"] = .string(result.image.path)
        image["vcpus"] = .int(Int64(result.vcpus))
        var lines = [image.rendered]
        for event in result.events { lines.append(RunEventFormatter.format(event, as: .json)) }
        var verdict: JSONObject = ["event": .string("verdict"), "image": .string(result.image.name)]
        verdict["verdict"] = .string(result.verdict.rawValue)
        if case .ran(let summary) = result.outcome { verdict["result"] = .string(summary.result.rawValue) }
        verdict["status"] = .int(Int64(result.exitStatus))
        verdict["reason"] = result.reason.map { .string($0) } ?? .null
        verdict["elapsed_ms"] = .number(RunEventFormatter.milliseconds(result.elapsedNanoseconds))
        lines.append(verdict.rendered)
        return lines
    }

    /// The `suite` line that ends `test --format json`: the counts, the exit status and the wall time.
    package static func suiteLine(_ totals: SuiteTotals, elapsedNanoseconds: UInt64, shard: Shard, jobs: Int)
        -> String
    {
        var object: JSONObject = ["event": .string("suite"), "images": .int(Int64(totals.total))]
        object["passed"] = .int(Int64(totals.passed))
        object["failed"] = .int(Int64(totals.failed))
        object["timed_out"] = .int(Int64(totals.timedOut))
        object["skipped"] = .int(Int64(totals.skipped))
        object["errors"] = .int(Int64(totals.errors))
        object["status"] = .int(Int64(totals.exitStatus))
        object["shard"] = .string(shard.description)
        object["jobs"] = .int(Int64(jobs))
        object["elapsed_ms"] = .number(RunEventFormatter.milliseconds(elapsedNanoseconds))
        return object.rendered
    }
}

/// A text file written whole: created (or truncated) up front, so that a path that cannot be written is a usage
/// error before anything runs, and written with one `write` loop at the end.
package final class OutputFile: Sendable {
    /// The path.
    package let path: String
    private let descriptor: Int32

    /// Creates or truncates `path` for writing.
    ///
    /// - Throws: a `RunSetupError` with status 2 naming the path and the reason.
    package init(path: String, purpose: String) throws(RunSetupError) {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw RunSetupError(
                message: "cannot write the \(purpose) to \(path): \(String(cString: strerror(errno)))",
                exitStatus: ExitStatus.unusable)
        }
    }

    deinit { close(descriptor) }

    /// Writes `text` at the end of the file.
    ///
    /// - Returns: nil, or the reason it could not be written.
    package func write(_ text: String) -> String? {
        var remaining = Array(text.utf8)[...]
        while !remaining.isEmpty {
            let written = remaining.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return "cannot write \(path): \(String(cString: strerror(errno)))" }
            remaining = remaining.dropFirst(written)
        }
        return nil
    }
}
