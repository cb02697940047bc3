internal import KVMHarnessGuest

/// Turns the `struct ucall` at a guest-virtual address into a typed `Ucall`. Pure: it reads guest memory only
/// through a `GuestVirtualMemory` view, so it is tested on plain buffers.
package enum UcallDecoder {
    /// `sizeof(struct ucall)` (1088), from the guest runtime's own header.
    package static let structSize = MemoryLayout<ucall>.size
    /// Size of `buffer` (1024).
    package static let bufferSize = Int(UCALL_BUFFER_SIZE)
    /// Offset of `buffer` (64): it is the last member, and ucall.h asserts that it ends the struct.
    package static let bufferOffset = structSize - bufferSize
    /// The longest expression or file name read for an ABORT.
    package static let maximumStringLength = 4096

    /// Reads `cmd` and `args` (the first 64 bytes) of the ucall at `gva`.
    ///
    /// - Throws: `.malformedUcall` with `.unmappedPointer`, `.runsIntoUnmappedPage` (reported at the unmapped page),
    ///   `.pointerOutsideMemory` or `.invalidPageTables` (naming the table level).
    @inline(__always)
    package static func readHeader<M>(gva: UInt64, memory: GuestVirtualMemory<M>) throws(KVMError)
        -> (command: UInt64, arguments: UcallArguments)
    {
        var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        // SAFETY: `words` is 64 bytes, exactly what is read into it, and lives across the call.
        let failure = withUnsafeMutableBytes(of: &words) { memory.read(gva: gva, into: $0.baseAddress!, count: 64) }
        if let failure { throw .malformedUcall(MalformedUcall(failure, pointer: gva, memory: M.self)) }
        var arguments = UcallArguments()
        arguments[0] = UInt64(littleEndian: words.1)
        arguments[1] = UInt64(littleEndian: words.2)
        arguments[2] = UInt64(littleEndian: words.3)
        arguments[3] = UInt64(littleEndian: words.4)
        arguments[4] = UInt64(littleEndian: words.5)
        arguments[5] = UInt64(littleEndian: words.6)
        arguments[6] = UInt64(littleEndian: words.7)
        return (UInt64(littleEndian: words.0), arguments)
    }

    /// Decodes the ucall at `gva`. Strings (the ABORT expression and file, the PRINTF and ABORT buffer) are read
    /// with bounded lengths; the buffer never past its 1024 bytes.
    @inline(__always)
    package static func decode<M>(gva: UInt64, memory: GuestVirtualMemory<M>) throws(KVMError) -> Ucall {
        let (command, args) = try readHeader(gva: gva, memory: memory)
        switch command {
        case UcallCommand.sync.rawValue:
            return .sync(args)
        case UcallCommand.done.rawValue:
            return .done
        case UcallCommand.none.rawValue:
            return .none(args)
        case UcallCommand.printf.rawValue:
            return .printf(buffer(gva: gva, memory: memory))
        case UcallCommand.abort.rawValue:
            return .abort(
                GuestAssertion(
                    expression: memory.readCString(gva: args[0], maximumLength: maximumStringLength),
                    expressionAddress: args[0],
                    file: memory.readCString(gva: args[1], maximumLength: maximumStringLength),
                    fileAddress: args[1],
                    line: args[2],
                    message: buffer(gva: gva, memory: memory)))
        case UcallCommand.unhandled.rawValue:
            return .unhandled(GuestException(vector: args[0], rip: args[1], errorCode: args[2], cr2: args[3]))
        default:
            return .unknown(command: command, arguments: args)
        }
    }

    private static func buffer<M>(gva: UInt64, memory: GuestVirtualMemory<M>) -> String {
        memory.readCString(gva: gva &+ UInt64(bufferOffset), maximumLength: bufferSize) ?? ""
    }
}
