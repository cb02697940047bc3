// libFuzzer entry point: the input is a guest's physical memory (the first 64 KiB of the input, zero-padded), and
// its first bytes also pick CR3, MAXPHYADDR and the ucall pointer. The decoder must return a ucall or a typed error,
// never trap, hang or read outside the buffer (AddressSanitizer watches the last).
@testable import KVMHarness

/// libFuzzer's driver (compiler-rt's FuzzerDriver.cpp): parses the libFuzzer options in argv and calls `callback`
/// for each input.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// The executable's entry point: SwiftPM links executables with `main` defined as `<module>_main` (so that tests can
/// link them), which would hide libFuzzer's own `main`; this one hands over to libFuzzer's driver instead.
@_cdecl("FuzzUcallDecoder_main")
func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return runFuzzerDriver(&argc, &argv) { data, size in fuzzUcallDecoder(data, size) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUcallDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard bytes.count >= 24 else { return 0 }
    func word(_ offset: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) } }
    // Memory: a small buffer, so that random table entries often land inside it.
    let memorySize = 0x1_0000
    let memory = BufferMemory(size: memorySize)
    let image = Array(bytes.prefix(memorySize))
    // SAFETY: `image` holds at most memorySize bytes, the buffer's size.
    _ = image.withUnsafeBytes { memory.write(gpa: 0, from: $0.baseAddress!, count: $0.count) }
    let cr3 = word(0) & 0xf000  // one of the 16 pages
    let physicalAddressBits = 32 + Int(bytes[8] % 21)  // 32...52
    let pointer = word(16)
    let view = GuestVirtualMemory(memory: memory, cr3: cr3, physicalAddressBits: physicalAddressBits)
    do {
        _ = try UcallDecoder.decode(gva: pointer, memory: view)
    } catch {
        // Every failure is one line.
        precondition(!error.description.contains("\n"))
    }
    // The walk on its own, for an address near the pointer, must agree with itself.
    let translation = PageTables.translate(
        pointer &+ 0x1000, cr3: cr3, physicalAddressBits: physicalAddressBits, memory: memory)
    if case .mapped(let gpa, _, _, _) = translation {
        precondition(gpa & ~PageTables.addressMask(physicalAddressBits: physicalAddressBits) & ~0x3fff_ffff == 0)
    }
    return 0
}
