// libFuzzer entry point: the input is a guest image file. It goes through what `kvm-harness run` does before any
// guest memory is touched: the ELF parser, then the loader's placement checks for a 64 MiB VM (reserved region,
// ucall page, the ucall symbol, fit in guest RAM). Each must return or throw a typed one-line error at once,
// never trap, hang or grow memory with the image's claimed sizes.
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
@_cdecl("FuzzImageLoader_main")
func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return runFuzzerDriver(&argc, &argv) { data, size in fuzzImageLoader(data, size) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImageLoader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let image: ELFImage
    do {
        image = try ELFImage(bytes: bytes)
    } catch {
        precondition(!error.description.contains("\n"))
        return 0
    }
    do {
        // A 64 MiB VM has a little less than 64 MiB left for an image; the ucall address is the one a default VM
        // gets on the development host (kvm-harness probe). (The first sessions used 0x40000000.)
        _ = try GuestImageLayout.checkPlacement(of: image, ucallAddress: 0x5000_0000_0000, available: 60 << 20)
    } catch {
        precondition(!error.description.contains("\n"))
    }
    return 0
}
