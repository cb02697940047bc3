/// A C struct that ends in a flexible array (`struct kvm_msrs`, `struct kvm_msr_list`, ...), in one zeroed buffer:
/// a header of `headerSize` bytes, then `capacity` elements of type `Element`.
///
/// SAFETY: every access is inside `bytes`, which init sizes for the header and `capacity` elements; element offsets
/// are bounded by `capacity`, and header reads by `headerSize`.
struct FlexibleArray<Element: BitwiseCopyable> {
    private var bytes: [UInt8]
    /// The number of elements the buffer has room for.
    let capacity: Int
    private let headerSize: Int

    /// A zeroed buffer for a header of `headerSize` bytes and `capacity` elements.
    init(headerSize: Int, capacity: Int) {
        self.headerSize = headerSize
        self.capacity = capacity
        bytes = [UInt8](repeating: 0, count: headerSize + capacity * MemoryLayout<Element>.stride)
    }

    /// Reads a field of the header.
    func header<T: BitwiseCopyable>(at offset: Int, as type: T.Type) -> T {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= headerSize, "header field outside the header")
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }

    /// Writes a field of the header.
    mutating func setHeader<T: BitwiseCopyable>(_ value: T, at offset: Int) {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= headerSize, "header field outside the header")
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: value, toByteOffset: offset, as: T.self) }
    }

    /// Element `index` (below `capacity`).
    subscript(index: Int) -> Element {
        get {
            precondition(index >= 0 && index < capacity, "element \(index) outside a buffer of \(capacity)")
            return bytes.withUnsafeBytes {
                $0.loadUnaligned(fromByteOffset: headerSize + index * MemoryLayout<Element>.stride, as: Element.self)
            }
        }
        set {
            precondition(index >= 0 && index < capacity, "element \(index) outside a buffer of \(capacity)")
            bytes.withUnsafeMutableBytes {
                $0.storeBytes(of: newValue, toByteOffset: headerSize + index * MemoryLayout<Element>.stride, as: Element.self)
            }
        }
    }

    /// The first `count` elements (at most `capacity`).
    func prefix(_ count: Int) -> [Element] { (0..<min(max(count, 0), capacity)).map { self[$0] } }

    /// Calls `body` with the buffer's address, for the ioctl that fills or reads it.
    mutating func withPointer<R, E: Error>(_ body: (UnsafeMutableRawPointer) throws(E) -> R) throws(E) -> R {
        // SAFETY: the buffer is sized for the header and `capacity` elements, and outlives the call.
        let result: Result<R, E> = bytes.withUnsafeMutableBytes { buffer in
            do throws(E) { return .success(try body(buffer.baseAddress!)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}
