import Foundation
import KVMHarnessTesting
import Testing

// Every Swift guest image must stay runnable on hosts whose KVM emulates CPL0 guest code (software virtualization
// such as PVM): its instruction emulator has no SSE, AVX, MMX or x87, nor XGETBV. A toolchain or flag change that
// brings such instructions back into the standard library's code is caught here, by disassembling every image.

/// What an instruction in `llvm-objdump -d` output (AT&T syntax, no raw bytes) needs that the emulator lacks, or nil.
func unsupportedState(ofDisassembledLine line: String) -> String? {
    // "  401000:      movq    %rdi, %rax" -> mnemonic "movq", operands "%rdi, %rax"
    let fields = line.split(separator: "\t", omittingEmptySubsequences: true).map {
        $0.trimmingCharacters(in: .whitespaces)
    }
    guard fields.count >= 2, fields[0].hasSuffix(":") else { return nil }
    let mnemonic = fields[1].split(separator: " ").first.map(String.init) ?? ""
    let operands = fields.count > 2 ? fields[2...].joined(separator: " ") : ""
    if operands.range(of: #"%[xyz]mm[0-9]"#, options: .regularExpression) != nil { return "vector register" }
    if operands.range(of: #"%mm[0-7]"#, options: .regularExpression) != nil { return "MMX register" }
    if operands.range(of: #"%k[0-7]"#, options: .regularExpression) != nil { return "AVX-512 mask register" }
    if operands.range(of: #"%st(\([0-7]\))?"#, options: .regularExpression) != nil { return "x87 register" }
    let vectorState: Set = [
        "ldmxcsr", "stmxcsr", "vldmxcsr", "vstmxcsr", "fxsave", "fxsave64", "fxrstor", "fxrstor64", "xsave",
        "xsave64", "xsaveopt", "xrstor", "xrstor64", "xgetbv", "xsetbv", "emms", "femms", "vzeroupper", "vzeroall",
    ]
    if vectorState.contains(mnemonic) { return "vector or FPU state" }
    if mnemonic.hasPrefix("f") { return "x87" }
    return nil
}

/// The toolchain's llvm-objdump: next to the swift on PATH.
func llvmObjdump() throws -> String {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    for folder in path.split(separator: ":") {
        let swift = URL(fileURLWithPath: String(folder)).appendingPathComponent("swift")
        guard FileManager.default.isExecutableFile(atPath: swift.path) else { continue }
        let objdump = swift.resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("llvm-objdump")
        if FileManager.default.isExecutableFile(atPath: objdump.path) { return objdump.path }
    }
    throw ScanError(description: "no llvm-objdump next to the swift on PATH: put a Swift toolchain's bin on PATH")
}

struct ScanError: Error, CustomStringConvertible { var description: String }

/// The instruction lines of `llvm-objdump -d` (executable sections only) for the image at `path`.
func disassembledInstructions(_ path: String) throws -> [String] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try llvmObjdump())
    process.arguments = ["-d", "--no-show-raw-insn", path]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ScanError(description: "llvm-objdump -d \(path) exited with \(process.terminationStatus)")
    }
    return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init).filter {
        $0.range(of: #"^\s+[0-9a-f]+:\s"#, options: .regularExpression) != nil
    }
}

@Suite("Swift guest images have no vector or x87 instructions")
struct GuestImageScanTests {
    @Test("the classifier flags vector, MMX, x87 and XGETBV instructions and nothing else", arguments: [
        ("  401000:      \txorps\t%xmm0, %xmm0", "vector register"),
        ("  401000:      \tvmovdqu\t%ymm1, (%rax)", "vector register"),
        ("  401000:      \tmovq\t%mm0, %rax", "MMX register"),
        ("  401000:      \tfldt\t0x10(%rsp)", "x87"),
        ("  401000:      \tfstp\t%st(1)", "x87 register"),
        ("  401000:      \tfnstcw\t(%rsp)", "x87"),
        ("  401000:      \tldmxcsr\t(%rsp)", "vector or FPU state"),
        ("  401000:      \txgetbv", "vector or FPU state"),
        ("  401000:      \tvzeroupper", "vector or FPU state"),
        ("  401000:      \tmovq\t%rdi, %rax", nil),
        ("  401000:      \trep\t\tmovsb\t(%rsi), %es:(%rdi)", nil),
        ("  401000:      \tcallq\t0x401234 <$s4Sync8triangleyS2uF>", nil),
        ("  401000:      \tud2", nil),
        ("Disassembly of section .text:", nil),
    ] as [(String, String?)])
    func classifier(line: String, expected: String?) {
        #expect(unsupportedState(ofDisassembledLine: line) == expected)
    }

    @Test("every image built by the plugin disassembles to general-purpose instructions only",
          arguments: SwiftGuestImage.allCases)
    func scan(image: SwiftGuestImage) throws {
        let instructions = try disassembledInstructions(image.path())
        // An image that disassembled to nothing would pass vacuously: every image has thousands of instructions.
        #expect(instructions.count > 1000, "\(image.rawValue).elf: only \(instructions.count) instructions")
        let flagged = instructions.compactMap { line in
            unsupportedState(ofDisassembledLine: line).map { "\($0): \(line)" }
        }
        let first = flagged.prefix(10).joined(separator: "\n")
        #expect(
            flagged.isEmpty, "\(image.rawValue).elf: \(flagged.count) vector/x87 instructions, the first:\n\(first)")
    }
}
