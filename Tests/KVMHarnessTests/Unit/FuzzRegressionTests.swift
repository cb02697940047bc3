import Foundation
import Testing

@testable import KVMHarness

// The inputs the fuzzers (scripts/fuzz.sh, Fuzz/) found bugs with, kept in Fuzz/Regressions/TARGET and run here
// through the same steps as the fuzz targets on every test run. A file that traps, hangs or throws a multi-line
// error fails the test.

private let regressions = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz/Regressions")

private func inputs(_ target: String) -> [URL] {
    let folder = regressions.appendingPathComponent(target)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
    return names.filter { !$0.hasPrefix(".") }.sorted().map { folder.appendingPathComponent($0) }
}

@Suite("Fuzzer regressions: every input that once found a bug")
struct FuzzRegressionTests {
    @Test("ImageLoader inputs are refused or placed with one-line errors", .timeLimit(.minutes(1)))
    func imageLoader() throws {
        for bytes in inputs("ImageLoader").map({ try? [UInt8](Data(contentsOf: $0)) }).compactMap({ $0 }) {
            guard let image = try? ELFImage(bytes: bytes) else { continue }
            do {
                _ = try GuestImageLayout.checkPlacement(of: image, ucallAddress: ucallAddress, available: 60 << 20)
            } catch {
                #expect(!error.description.contains("\n"))
            }
        }
        // The kind of image that used to hang the loader: refused by the fit check, at once.
        let huge = try ELFImage(bytes: hugeSegmentImage())
        #expect {
            _ = try GuestImageLayout.checkPlacement(of: huge, ucallAddress: ucallAddress, available: 60 << 20)
        } throws: { error in
            guard case .needsMoreMemory(let required, _, _) = error as? GuestImageError else { return false }
            return required > 0x4000_0000_0000 - 0x40_0000
        }
    }

    /// The ucall address a default VM gets on the development host (kvm-harness probe), as the fuzz target uses.
    private let ucallAddress: UInt64 = 0x5000_0000_0000

    @Test("UcallDecoder inputs decode or fail with one-line errors")
    func ucallDecoder() throws {
        for file in inputs("UcallDecoder") {
            let bytes = [UInt8](try Data(contentsOf: file))
            guard bytes.count >= 24 else { continue }
            func word(_ offset: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) } }
            let memory = BufferMemory(size: 0x1_0000)
            let image = Array(bytes.prefix(0x1_0000))
            _ = image.withUnsafeBytes { memory.write(gpa: 0, from: $0.baseAddress!, count: $0.count) }
            let view = GuestVirtualMemory(
                memory: memory, cr3: word(0) & 0xf000, physicalAddressBits: 32 + Int(bytes[8] % 21))
            do {
                _ = try UcallDecoder.decode(gva: word(16), memory: view)
            } catch {
                #expect(!error.description.contains("\n"), "\(file.lastPathComponent)")
            }
        }
    }

    /// An ELF image with one PT_LOAD from 0x400000 up to 64 TiB (below the ucall address).
    private func hugeSegmentImage() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 64 + 56)
        func put(_ value: UInt64, _ offset: Int, _ width: Int) {
            for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
        }
        bytes[0...6] = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]
        put(2, 16, 2); put(62, 18, 2); put(0x40_0000, 24, 8); put(64, 32, 8); put(56, 54, 2); put(1, 56, 2)
        put(1, 64, 4); put(5, 68, 4); put(0x40_0000, 80, 8); put(0x4000_0000_0000 - 0x40_0000, 104, 8)
        return bytes
    }
}
