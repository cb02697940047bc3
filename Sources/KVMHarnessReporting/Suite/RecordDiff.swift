import Glibc

/// A run record read back: the host it was made on and, per image, what the run did that should be the same on
/// every host (`kvm-harness diff`).
package struct RecordFile: Sendable {
    /// One image's comparable facts.
    package struct Image: Sendable {
        /// The name.
        package var name: String
        /// What each vCPU did, in order: ucalls, the exit that ended its run, errors, timeouts.
        package var facts: [Int: [String]] = [:]
        /// "fail (abort, status 1)", or nil if the record has no verdict line for the image.
        package var verdict: String?
    }

    /// The record's host line ("GenuineIntel ..., Linux 6.18 x86_64"), or nil.
    package var host: String?
    /// The images, in record order.
    package var images: [Image]

    /// Reads a record (or `test --format json` output).
    ///
    /// - Throws: a message naming the line that is not JSON, or saying the text holds no image.
    package init(text: String, path: String) throws(RecordReadError) {
        images = []
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == " " || $0 == "\r" }) { continue }
            let object: JSONObject
            do {
                guard case .object(let parsed) = try JSONParser.parse(String(line)) else {
                    throw RecordReadError("\(path):\(lineNumber): not a JSON object: read a record written by "
                        + "kvm-harness test --record or run --record")
                }
                object = parsed
            } catch let failure as JSONParser.Failure {
                throw RecordReadError("\(path):\(lineNumber): not JSON (\(failure)): read a record written by "
                    + "kvm-harness test --record or run --record")
            } catch let error as RecordReadError {
                throw error
            } catch {
                throw RecordReadError("\(path):\(lineNumber): \(error)")
            }
            guard case .string(let event)? = object["event"] else {
                throw RecordReadError("\(path):\(lineNumber): a JSON object without \"event\": not a run record")
            }
            try take(event, object, path: path, line: lineNumber)
        }
        guard !images.isEmpty else {
            throw RecordReadError("\(path): no image in this record: write one with kvm-harness test --record PATH")
        }
    }

    private mutating func take(_ event: String, _ object: JSONObject, path: String, line: Int)
        throws(RecordReadError)
    {
        switch event {
        case "record":
            if case .object(let host)? = object["host"] {
                let cpu = "\(Self.text(host["cpu_vendor"])) \(Self.text(host["cpu_model"]))"
                self.host = "\(cpu), Linux \(Self.text(host["kernel"])) \(Self.text(host["machine"]))"
            }
        case "image":
            guard case .string(let name)? = object["name"] else {
                throw RecordReadError("\(path):\(line): an image line without a name")
            }
            images.append(Image(name: name))
        case "verdict":
            guard !images.isEmpty else { throw RecordReadError("\(path):\(line): a verdict before any image line") }
            var verdict = Self.text(object["verdict"])
            var details: [String] = []
            if let result = object["result"] { details.append(Self.text(result)) }
            if let status = object["status"] { details.append("status \(Self.text(status))") }
            if !details.isEmpty { verdict += " (" + details.joined(separator: ", ") + ")" }
            images[images.count - 1].verdict = verdict
        case "ucall", "exit", "error", "timeout":
            guard !images.isEmpty else {
                throw RecordReadError("\(path):\(line): a \(event) event before any image line")
            }
            guard let fact = Self.fact(event, object) else { return }
            let vcpu: Int
            switch object["vcpu"] {
            case .int(let value)?: vcpu = Int(clamping: value)
            default: vcpu = -1
            }
            images[images.count - 1].facts[vcpu, default: []].append(fact)
        default:
            // summary, stats, suite and events this version does not know: times and counts, or nothing to compare.
            break
        }
    }

    /// What an event says that should be the same on every host, or nil for an event that says nothing such.
    ///
    /// A ucall is compared whole (the guest chose every field); an exit by its reason alone (registers, the
    /// explanation and memslot addresses depend on the host and the harness's layout), and a traced ucall exit not
    /// at all; an error by its kind and problem; a timeout by the last ucall before it (not RIP or the deadline).
    static func fact(_ event: String, _ object: JSONObject) -> String? {
        switch event {
        case "ucall":
            var rest = JSONObject()
            for member in object.members where member.key != "event" && member.key != "vcpu" && member.key != "cmd" {
                rest[member.key] = member.value
            }
            let fields = rest.members.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            return "ucall \(text(object["cmd"]))" + (fields.isEmpty ? "" : " " + fields)
        case "exit":
            if case .string(let explanation)? = object["explanation"], explanation.hasPrefix("a ucall") { return nil }
            return "exit \(text(object["reason"]))"
        case "error":
            var fact = "error \(text(object["kind"]))"
            if let problem = object["problem"] { fact += " \(text(problem))" }
            return fact
        case "timeout":
            return "timeout after \(text(object["last_ucall"]))"
        default:
            return nil
        }
    }

    private static func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let text)?: return text
        case nil: return "none"
        case let value?: return value.description
        }
    }
}

/// A record that cannot be read: one line naming the file (and line) and what to do.
package struct RecordReadError: Error, Sendable, CustomStringConvertible {
    /// The message.
    package var message: String

    /// An error with this message.
    package init(_ message: String) { self.message = message }

    package var description: String { message }
}

/// Compares two run records image by image: ucall sequences, the exits that ended runs, errors, timeouts and
/// verdicts, ignoring what is expected to differ between hosts and runs (times, exit counts, registers, the ucall
/// address and other addresses the host chose).
package enum RecordDiff {
    /// The differences, one line each, images in A's order and then those only in B; empty when the records agree.
    package static func differences(_ a: RecordFile, _ b: RecordFile) -> [String] {
        var lines: [String] = []
        let bImages = Dictionary(b.images.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let aNames = Set(a.images.map(\.name))
        for image in a.images {
            guard let other = bImages[image.name] else {
                lines.append("\(image.name): only in A")
                continue
            }
            lines += differences(image, other)
        }
        for image in b.images where !aNames.contains(image.name) {
            lines.append("\(image.name): only in B")
        }
        return lines
    }

    private static func differences(_ a: RecordFile.Image, _ b: RecordFile.Image) -> [String] {
        var lines: [String] = []
        let name = a.name
        if a.verdict != b.verdict {
            lines.append("\(name): verdict: A \(a.verdict ?? "none"), B \(b.verdict ?? "none")")
        }
        for vcpu in Set(a.facts.keys).union(b.facts.keys).sorted() {
            let who = vcpu < 0 ? "harness" : "vCPU \(vcpu)"
            let left = a.facts[vcpu] ?? [], right = b.facts[vcpu] ?? []
            if let index = left.indices.first(where: { $0 < right.count && left[$0] != right[$0] }) {
                lines.append("\(name): \(who) event \(index + 1): A \(left[index]); B \(right[index])")
            } else if left.count != right.count {
                let (longer, extra) = left.count > right.count ? ("A", left[right.count]) : ("B", right[left.count])
                lines.append(
                    "\(name): \(who): A has \(left.count) events, B \(right.count); the first only in \(longer): "
                        + extra)
            }
        }
        return lines
    }
}

extension RecordDiff {
    /// The largest record `diff` reads.
    package static let maximumRecordSize = 1 << 30

    /// `kvm-harness diff A B`: reads both records, prints their hosts and every difference through `write`.
    ///
    /// - Returns: 0 when the records agree, 1 when they differ, 2 when one cannot be read (the reason through
    ///   `diagnose`).
    package static func execute(_ pathA: String, _ pathB: String, write: (String) -> Void, diagnose: (String) -> Void)
        -> Int32
    {
        let a: RecordFile, b: RecordFile
        do {
            a = try RecordFile(text: try readFile(pathA), path: pathA)
            b = try RecordFile(text: try readFile(pathB), path: pathB)
        } catch {
            diagnose(error.message)
            return ExitStatus.unusable
        }
        write("A: \(pathA)" + (a.host.map { " (\($0))" } ?? ""))
        write("B: \(pathB)" + (b.host.map { " (\($0))" } ?? ""))
        let lines = differences(a, b)
        for line in lines { write(line) }
        let names = Set(a.images.map(\.name)).union(b.images.map(\.name))
        let differing = Set(lines.map { String($0.prefix { $0 != ":" }) })
        if lines.isEmpty {
            write("no differences in \(names.count) image\(names.count == 1 ? "" : "s") (times, counts and host "
                + "addresses are not compared)")
            return ExitStatus.success
        }
        write("\(differing.count) of \(names.count) image\(names.count == 1 ? "" : "s") differ")
        return ExitStatus.guestFailure
    }

    /// The whole file as text (invalid UTF-8 repaired), at most `maximumRecordSize` bytes.
    static func readFile(_ path: String) throws(RecordReadError) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw RecordReadError("\(path): \(String(cString: strerror(errno))): name a file written by --record")
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else {
                throw RecordReadError("\(path): \(String(cString: strerror(errno))): cannot read the record")
            }
            if count == 0 { break }
            bytes += chunk[..<count]
            guard bytes.count <= maximumRecordSize else {
                throw RecordReadError("\(path): larger than \(maximumRecordSize >> 20) MiB: not a run record")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
