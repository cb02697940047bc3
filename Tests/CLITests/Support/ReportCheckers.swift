import Foundation

/// The independent checkers of the suite reports (the kernel's kunit.py, the JUnit schema and xmlschema), installed
/// on first use by scripts/install-report-checkers.sh into the package's .build/report-checkers.
enum ReportCheckers {
    /// The folder, and the script's output (which says what is missing and why).
    static let installation: (folder: URL, output: String) = {
        let folder = CLI.packageRoot.appendingPathComponent(".build/report-checkers")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [
            CLI.packageRoot.appendingPathComponent("scripts/install-report-checkers.sh").path, folder.path,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        do {
            try process.run()
        } catch {
            return (folder, "cannot start bash: \(error)")
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (folder, text)
    }()

    /// tools/testing/kunit/kunit.py, if it could be installed.
    static var kunit: URL? {
        let path = installation.folder.appendingPathComponent("linux/tools/testing/kunit/kunit.py")
        return FileManager.default.fileExists(atPath: path.path) ? path : nil
    }

    /// The JUnit schema and the folder with xmlschema, if they could be installed.
    static var junit: (schema: URL, pythonPath: URL)? {
        let schema = installation.folder.appendingPathComponent("junit-10.xsd")
        let python = installation.folder.appendingPathComponent("python")
        guard FileManager.default.fileExists(atPath: schema.path),
            FileManager.default.fileExists(atPath: python.appendingPathComponent("xmlschema").path)
        else { return nil }
        return (schema, python)
    }

    /// Why a checker is missing: the install script's line about it.
    static func reason(_ checker: String) -> String {
        installation.output.split(separator: "\n").first { $0.contains(checker) && $0.contains("unavailable") }
            .map(String.init) ?? "scripts/install-report-checkers.sh could not install \(checker)"
    }

    /// Runs python3 with `arguments`, returning its status and stdout+stderr.
    static func python(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let result = try await CLI.run(arguments, executable: URL(fileURLWithPath: "/usr/bin/env"), limit: 120)
        return (result.status, result.stdout + result.stderr)
    }
}
