/// The kind of `KVM_EXIT_INTERNAL_ERROR`: `kvm_run.internal.suberror` (`KVM_INTERNAL_ERROR_*` in linux/kvm.h).
package enum InternalErrorSuberror: UInt32, Sendable, CaseIterable {
    /// `KVM_INTERNAL_ERROR_EMULATION` (1): the instruction emulator gave up.
    case emulation = 1
    /// `KVM_INTERNAL_ERROR_SIMUL_EX` (2): exceptions collided in a way KVM cannot resolve.
    case simultaneousExceptions = 2
    /// `KVM_INTERNAL_ERROR_DELIVERY_EV` (3): an exit KVM cannot handle arrived while an event was being delivered.
    case deliveryEvent = 3
    /// `KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON` (4): the hardware reported an exit KVM has no handler for.
    case unexpectedExitReason = 4

    /// The C name without its `KVM_INTERNAL_ERROR_` prefix, e.g. "SIMUL_EX".
    package var name: String {
        switch self {
        case .emulation: "EMULATION"
        case .simultaneousExceptions: "SIMUL_EX"
        case .deliveryEvent: "DELIVERY_EV"
        case .unexpectedExitReason: "UNEXPECTED_EXIT_REASON"
        }
    }

    /// One sentence on what this suberror means and where its details are in `internal.data`.
    package var meaning: String {
        switch self {
        case .emulation:
            "KVM had to emulate a guest instruction and could not decode or carry it out; when the emulation-failure flags include INSTRUCTION_BYTES, the bytes it tried are reported too."
        case .simultaneousExceptions:
            "While KVM was injecting one exception another one arrived in a combination it does not know how to merge, so it stopped the vCPU."
        case .deliveryEvent:
            "The CPU left the guest in the middle of delivering an interrupt or exception, for a reason KVM cannot handle at that point; typically the IDT, GDT, TSS or stack used for delivery lies in memory no memslot backs."
        case .unexpectedExitReason:
            "The hardware exited for a reason KVM has no handler for; `internal.data[0]` holds the raw exit code and `internal.data[1]` the host CPU."
        }
    }

    /// Describes a raw `internal.suberror` value, including numbers this library does not know.
    package static func describe(_ raw: UInt32) -> String {
        guard let known = InternalErrorSuberror(rawValue: raw) else {
            return "unknown suberror \(raw) (not in this library's table; the kernel may be newer)"
        }
        return "\(known.name) (\(raw)): \(known.meaning)"
    }
}
