import Glibc

/// One image of a suite: the name it is reported under and the file it is read from.
package struct SuiteImage: Sendable, Equatable {
    /// The name in every report: the file name without `.elf` for an image named on the command line, the path
    /// below the directory without `.elf` for one found in a directory ("clean", "x86/msr_read").
    package var name: String
    /// The file.
    package var path: String

    /// An image with this name and path.
    package init(name: String, path: String) {
        self.name = name
        self.path = path
    }

    /// The image at `imagePath`, named as when it is named on the command line of `test`.
    package init(imagePath: String) {
        self.init(name: SuitePlan.imageName(SuitePlan.fileName(imagePath)), path: imagePath)
    }
}

/// Which part of a suite this runner takes: shard `index` (1-based) of `count`.
package struct Shard: Sendable, Equatable, CustomStringConvertible {
    /// 1 to `count`.
    package var index: Int
    /// How many shards the suite is split into.
    package var count: Int

    /// The whole suite.
    package static let all = Shard(index: 1, count: 1)!

    /// Shard `index` of `count`; nil unless 1 <= index <= count.
    package init?(index: Int, count: Int) {
        guard count >= 1, (1...count).contains(index) else { return nil }
        self.index = index
        self.count = count
    }

    /// Parses "K/N".
    package init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else { return nil }
        self.init(index: index, count: count)
    }

    /// Whether the image called `name` belongs to this shard: the 64-bit FNV-1a hash of the name's UTF-8 bytes,
    /// modulo `count`, is `index - 1`. It depends on the name alone, so every runner of a matrix, on whatever
    /// host, puts an image in the same shard, and adding an image moves no other.
    package func contains(_ name: String) -> Bool {
        Int(Self.fnv1a(name) % UInt64(count)) == index - 1
    }

    /// The 64-bit FNV-1a hash of `text`'s UTF-8 bytes.
    package static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    package var description: String { "\(index)/\(count)" }
}

/// Finds a suite's images: files named on the command line, and every `*.elf` below the directories named.
package enum SuitePlan {
    /// The deepest directory level searched below a directory argument.
    package static let maximumDepth = 16

    /// The images named by `arguments`, sorted by name.
    ///
    /// - Throws: a `RunSetupError` with status 2 for a path that does not exist or is neither a file nor a
    ///   directory, a directory with no `*.elf` below it, or two images with the same name.
    package static func discover(_ arguments: [String]) throws(RunSetupError) -> [SuiteImage] {
        var images: [SuiteImage] = []
        for argument in arguments {
            var status = stat()
            guard stat(argument, &status) == 0 else {
                throw usage("\(argument): \(String(cString: strerror(errno))): name an image file or a directory")
            }
            switch status.st_mode & S_IFMT {
            case S_IFREG:
                images.append(SuiteImage(name: imageName(fileName(argument)), path: argument))
            case S_IFDIR:
                let found = try elfFiles(in: argument, relative: "", depth: 0)
                guard !found.isEmpty else {
                    throw usage("\(argument): no *.elf images in this directory or below it")
                }
                images += found
            default:
                throw usage("\(argument): not a regular file or a directory")
            }
        }
        images.sort { $0.name < $1.name }
        for (first, second) in zip(images, images.dropFirst()) where first.name == second.name {
            throw usage(
                "two images are named \(first.name) (\(first.path) and \(second.path)): a suite reports images by "
                    + "name, so rename one or run them separately")
        }
        return images
    }

    /// The images of `images` that belong to `shard`, in order.
    package static func select(_ images: [SuiteImage], shard: Shard) -> [SuiteImage] {
        images.filter { shard.contains($0.name) }
    }

    private static func elfFiles(in directory: String, relative: String, depth: Int) throws(RunSetupError)
        -> [SuiteImage]
    {
        guard depth <= maximumDepth else { return [] }
        guard let handle = opendir(directory) else {
            throw usage("\(directory): \(String(cString: strerror(errno))): cannot list the directory")
        }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        var found: [SuiteImage] = []
        for name in names.sorted() {
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            let below = relative.isEmpty ? name : relative + "/" + name
            var status = stat()
            // stat, not lstat: a symbolic link to an image counts; a loop of directory links ends at maximumDepth.
            guard stat(path, &status) == 0 else { continue }
            switch status.st_mode & S_IFMT {
            case S_IFDIR: found += try elfFiles(in: path, relative: below, depth: depth + 1)
            case S_IFREG where name.hasSuffix(".elf"): found.append(SuiteImage(name: imageName(below), path: path))
            default: break
            }
        }
        return found
    }

    static func fileName(_ path: String) -> String {
        let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
        return trimmed.split(separator: "/").last.map(String.init) ?? trimmed
    }

    /// The name without `.elf`; characters that KTAP gives a meaning to (`#`) or that end a line become `_`.
    static func imageName(_ name: String) -> String {
        let base = name.hasSuffix(".elf") ? String(name.dropLast(4)) : name
        return String(base.map { $0 == "#" || $0.isNewline || $0 == "\t" ? "_" : $0 })
    }

    private static func usage(_ message: String) -> RunSetupError {
        RunSetupError(message: message, exitStatus: ExitStatus.unusable)
    }
}
