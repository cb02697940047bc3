import Foundation

/// What the process holds, from /proc/self: the figures that grow when threads, descriptors or mappings leak.
struct ProcessResources: Equatable, CustomStringConvertible {
    /// `Threads:` in /proc/self/status.
    var threads: Int
    /// `VmSize:` in /proc/self/status, in KiB.
    var virtualKiB: Int
    /// Entries in /proc/self/fd.
    var fileDescriptors: [String]
    /// Lines in /proc/self/maps.
    var mappings: Int

    static func current() throws -> ProcessResources {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        func field(_ name: String) -> Int {
            let line = status.split(separator: "\n").first { $0.hasPrefix(name + ":") } ?? ""
            return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") ?? -1
        }
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").sorted()
        let maps = try String(contentsOfFile: "/proc/self/maps", encoding: .utf8)
        return ProcessResources(
            threads: field("Threads"), virtualKiB: field("VmSize"), fileDescriptors: descriptors,
            mappings: maps.split(separator: "\n").count)
    }

    /// Threads of this process named `name` (`/proc/self/task/*/comm`), for the library's own threads
    /// (`OSThread.name`).
    static func threads(named name: String) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").filter { task in
            let comm = (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? ""
            return comm.trimmingCharacters(in: .newlines) == name
        }.count
    }

    /// The descriptors open now, each with what it refers to (for a readable failure).
    static func describeDescriptors(_ names: [String]) -> String {
        names.map { name in
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + name)) ?? "?"
            return "\(name) -> \(target)"
        }.joined(separator: ", ")
    }

    var description: String {
        "\(threads) threads, VmSize \(virtualKiB) KiB, \(fileDescriptors.count) descriptors, \(mappings) mappings"
    }
}
