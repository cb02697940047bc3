internal import CKVM

/// The loaded ELF object (the test executable, or a shared library) that contains a given host address. Its
/// PT_LOAD segments are what the guest needs to run C code compiled into the host process.
struct InProcessImage {
    /// Its PT_LOAD segments at their run-time addresses.
    var segments: [LoadedSegment]

    /// The object whose PT_LOAD segments contain `address`, or nil.
    static func containing(_ address: UInt64) -> InProcessImage? {
        var found = [ckvm_loaded_segment](repeating: ckvm_loaded_segment(), count: 32)
        let count = Int(ckvm_find_loaded_object(address, &found, Int32(found.count)))
        guard count > 0 else { return nil }
        let pfWrite: UInt32 = 2
        let pfExecute: UInt32 = 1
        return InProcessImage(
            segments: found.prefix(count).map {
                LoadedSegment(
                    address: $0.address, size: $0.size, writable: $0.flags & pfWrite != 0,
                    executable: $0.flags & pfExecute != 0)
            })
    }
}
