import Glibc

/// Running another program (perf, the CLI, the allocation counter, this benchmark in a child mode) with its output
/// in files, and timing it.
enum Subprocess {
    struct Result {
        /// The exit status, or 128 + the signal number if a signal ended it.
        var status: Int32
        /// From posix_spawn to waitpid returning.
        var wallNanoseconds: UInt64
        var standardOutput: String
        var standardError: String
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `path` with `arguments`, its stdout and stderr going to files in `directory`, and waits for it.
    static func run(_ path: String, _ arguments: [String], directory: String) throws -> Result {
        let outputPath = directory + "/subprocess.stdout"
        let errorPath = directory + "/subprocess.stderr"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        // SAFETY: each strdup'd string lives until the deferred free, after posix_spawn has copied argv; the array
        // ends with the NULL that argv needs.
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let started = Measure.now()
        let spawned = argv.withUnsafeBufferPointer { buffer in
            posix_spawn(&pid, path, &actions, nil, buffer.baseAddress!, environ)
        }
        guard spawned == 0 else {
            throw Failure(description: "can't run \(path): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw Failure(description: "waitpid for \(path) failed") }
        }
        let elapsed = Measure.now() - started
        let exitStatus = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(
            status: exitStatus, wallNanoseconds: elapsed, standardOutput: readFile(outputPath),
            standardError: readFile(errorPath))
    }

    /// The whole file as UTF-8 text ("" if it cannot be read).
    static func readFile(_ path: String) -> String {
        guard let file = fopen(path, "r") else { return "" }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes `text` to `path`, replacing it.
    static func writeFile(_ path: String, _ text: String) throws {
        guard let file = fopen(path, "w") else { throw Failure(description: "can't write \(path)") }
        defer { fclose(file) }
        let bytes = Array(text.utf8)
        guard fwrite(bytes, 1, bytes.count, file) == bytes.count else {
            throw Failure(description: "can't write \(path)")
        }
    }

    /// The first executable named `name` in $PATH, if any.
    static func findInPath(_ name: String) -> String? {
        guard let path = getenv("PATH") else { return nil }
        for directory in String(cString: path).split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Whether `path` is an existing file.
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// The path of the running executable.
    static func currentExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return CommandLine.arguments[0] }
        // SAFETY: readlink wrote `length` bytes into a zeroed buffer one byte longer, so the string is terminated.
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
