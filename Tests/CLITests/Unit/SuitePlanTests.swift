import Foundation
import KVMHarnessReporting
import Testing

// Finding a suite's images and splitting it into shards: pure, on temporary folders, no KVM.

@Suite("SuitePlan and Shard: discovery, names, a stable partition")
struct SuitePlanTests {
    @Test("FNV-1a 64 of the published test vectors")
    func fnv1a() {
        #expect(Shard.fnv1a("") == 0xcbf2_9ce4_8422_2325)
        #expect(Shard.fnv1a("a") == 0xaf63_dc4c_8601_ec8c)
        #expect(Shard.fnv1a("foobar") == 0x8594_4171_f739_67e8)
    }

    @Test("K/N parses only with 1 <= K <= N")
    func parsing() {
        #expect(Shard("2/3") == Shard(index: 2, count: 3))
        #expect(Shard("1/1") == .all)
        for bad in ["0/3", "4/3", "3", "1/0", "a/b", "1/2/3", "-1/2", ""] { #expect(Shard(bad) == nil, "\(bad)") }
    }

    @Test("shards 1..N of any N cover 1,000 names exactly once, each shard by name alone")
    func partition() {
        let names = (0..<1000).map { "image_\($0)" }
        for count in [1, 2, 3, 7] {
            var owners: [String: Int] = [:]
            for index in 1...count {
                let shard = Shard(index: index, count: count)!
                for name in names where shard.contains(name) { owners[name, default: 0] += 1 }
            }
            #expect(owners.count == names.count && owners.values.allSatisfy { $0 == 1 }, "N = \(count)")
        }
        // 1,000 names over 3 shards: no shard is starved (the hash spreads).
        let sizes = (1...3).map { index in names.filter { Shard(index: index, count: 3)!.contains($0) }.count }
        #expect(sizes.allSatisfy { $0 > 250 }, "\(sizes)")
    }

    @Test("directories are searched for *.elf (below too), files keep their name; all sorted by name")
    func discovery() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kvm-harness-plan-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        for path in ["suite/b.elf", "suite/a.elf", "suite/x86/msr.elf", "suite/notes.txt", "single/z image.bin"] {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: url.path, contents: Data())
        }
        let suite = root.appendingPathComponent("suite").path
        let single = root.appendingPathComponent("single/z image.bin").path
        let images = try SuitePlan.discover([suite, single])
        #expect(images == [
            SuiteImage(name: "a", path: suite + "/a.elf"), SuiteImage(name: "b", path: suite + "/b.elf"),
            SuiteImage(name: "x86/msr", path: suite + "/x86/msr.elf"), SuiteImage(name: "z image.bin", path: single),
        ])
    }

    @Test("usage errors: a missing path, a folder without images, two images with one name")
    func errors() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kvm-harness-plan-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("empty"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("other"), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: root.appendingPathComponent("a.elf").path, contents: Data())
        _ = FileManager.default.createFile(atPath: root.appendingPathComponent("other/a.elf").path, contents: Data())
        func message(_ paths: [String]) -> String? {
            do {
                _ = try SuitePlan.discover(paths)
                return nil
            } catch {
                #expect(error.exitStatus == 2)
                return error.message
            }
        }
        let missing = root.appendingPathComponent("missing").path
        #expect(message([missing]) == "\(missing): No such file or directory: name an image file or a directory")
        let empty = root.appendingPathComponent("empty").path
        #expect(message([empty]) == "\(empty): no *.elf images in this directory or below it")
        let first = root.appendingPathComponent("a.elf").path, second = root.appendingPathComponent("other").path
        #expect(
            message([first, second])
                == "two images are named a (\(first) and \(second)/a.elf): a suite reports images by name, so rename "
                + "one or run them separately")
    }
}
