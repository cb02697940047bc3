import Foundation
import KVMHarnessTesting

/// The Swift guest images the SwiftGuestImages plugin built from Guests/<Name>/ into this target's resources.
enum SwiftGuestImage: String, CaseIterable {
    case sync = "Sync"
    case scenarios = "Scenarios"
    case workload = "Workload"

    /// Why an image is missing: the plugin did not run, or a guest folder was renamed without the test.
    struct Missing: Error, CustomStringConvertible {
        var name: String
        var description: String {
            "no \(name).elf in the SwiftGuestTests bundle: the SwiftGuestImages plugin builds it from "
                + "Tests/SwiftGuestTests/Guests/\(name)/ (see the build log for its error)"
        }
    }

    /// The image file's path.
    func path() throws -> String {
        guard let path = Bundle.module.path(forResource: rawValue, ofType: "elf") else {
            throw Missing(name: rawValue)
        }
        return path
    }

    /// A VM with the image loaded and one vCPU starting with RDI = `argument`.
    func virtualMachine(argument: UInt64 = 0) throws -> VirtualMachine {
        try VirtualMachine(imagePath: path(), arguments: [argument])
    }
}

/// A guest source file of this target and the line numbers of its `// line: TAG` comments.
struct GuestSource {
    /// The path relative to Guests/, as the guest's #fileID names it ("Scenarios/Scenarios.swift").
    var fileID: String
    var lines: [String]

    init(_ fileID: String, testFile: String = #filePath) throws {
        let guests = URL(fileURLWithPath: testFile).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Guests")
        self.fileID = fileID
        lines = try String(contentsOf: guests.appendingPathComponent(fileID), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// The 1-based line whose comment is `// line: tag`.
    func line(tagged tag: String) throws -> Int {
        guard let index = lines.firstIndex(where: { $0.hasSuffix("// line: \(tag)") }) else {
            throw Missing(name: "\(fileID): no line tagged \(tag)")
        }
        return index + 1
    }

    struct Missing: Error { var name: String }
}
