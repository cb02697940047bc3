// Ucalls from Embedded Swift guests: the same struct, commands and transports as the C runtime (ucall.h), which
// is where they are defined; this file only gives them Swift names.
import KVMHarnessSwiftGuestRuntime

/// How a ucall reaches the host (docs/guest-image-abi.md, "Ucalls").
public enum GuestUcallTransport: Sendable {
    /// One 8-byte store of the struct's address to the ucall MMIO address, which the harness writes into the image's
    /// `ucall_exit_mmio_addr`. The default, as in the C runtime.
    case mmio
    /// An IN from port 0x1000 with the struct's address in RDI: the kernel selftests' x86 transport.
    case portIO

    var cValue: Int32 {
        switch self {
        case .mmio: Int32(KVMH_SWIFT_TRANSPORT_MMIO)
        case .portIO: Int32(KVMH_SWIFT_TRANSPORT_PORT_IO)
        }
    }
}

/// Sends one ucall with `command` and seven arguments; the 1 KiB buffer is left untouched. Inlined to eight stores
/// and the exit, like the C runtime's `ucall7`.
@inline(__always)
public func guestUcall(
    _ command: UInt64, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0, _ a3: UInt64 = 0, _ a4: UInt64 = 0,
    _ a5: UInt64 = 0, _ a6: UInt64 = 0, via transport: GuestUcallTransport = .mmio
) {
    switch transport {
    case .mmio: ucall7(command, a0, a1, a2, a3, a4, a5, a6)
    case .portIO: ucall7_pio(command, a0, a1, a2, a3, a4, a5, a6)
    }
}

/// A checkpoint: SYNC with args[0] = `stage` and up to six values after it (the rest 0). The host sees
/// `.sync([stage, v1, ...])`, exactly what C's `GUEST_SYNC_ARGS(stage, v1, ...)` sends, in as many instructions.
@inline(__always)
public func guestSync(
    _ stage: UInt64, _ v1: UInt64 = 0, _ v2: UInt64 = 0, _ v3: UInt64 = 0, _ v4: UInt64 = 0, _ v5: UInt64 = 0,
    _ v6: UInt64 = 0, via transport: GuestUcallTransport = .mmio
) {
    guestUcall(UInt64(UCALL_SYNC), stage, v1, v2, v3, v4, v5, v6, via: transport)
}

/// The guest is finished: DONE. The host does not resume this vCPU afterwards.
@inline(__always)
public func guestDone(via transport: GuestUcallTransport = .mmio) {
    guestUcall(UInt64(UCALL_DONE), via: transport)
}

/// A line of output: PRINTF with the message in the buffer (`guestPrint("n = \(n), key \(hex: key)")`). The
/// message is built on the stack; nothing is allocated.
public func guestPrint(_ message: GuestMessage, via transport: GuestUcallTransport = .mmio) {
    message.withUTF8 { text in
        kvmh_swift_ucall_text(UInt64(UCALL_PRINTF), 0, 0, 0, text.baseAddress, text.count, transport.cValue)
    }
}

/// RDI at the image's entry point: the vCPU's index when the harness starts the image (`kvm-harness run`,
/// `VirtualMachine(imagePath:)`), or the first of the `arguments` a test gave `addVCPU(entryAddress:arguments:)`.
/// Each vCPU reads its own (through GS, which the runtime points at a per-vCPU block).
public var guestEntryArgument: UInt64 { kvmh_entry_argument() }
