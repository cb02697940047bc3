internal import CKVM

/// A port I/O exit (`KVM_EXIT_IO`).
public struct IOAccess: Hashable, Sendable {
    /// The port.
    public var port: UInt16
    /// True for OUT (guest to device), false for IN.
    public var isOut: Bool
    /// The access size in bytes (1, 2 or 4).
    public var size: UInt8
    /// The repeat count (string I/O: INS/OUTS with REP).
    public var count: UInt32
    /// The first up to 8 bytes of data (what the guest wrote, for OUT), little-endian.
    public var data: UInt64
    /// For OUT, every byte the guest wrote (`size * count`; a string OUT with REP writes `count` items); empty for
    /// IN, whose data the host gives with `VCPU.answerIn(_:)`.
    public var bytes: [UInt8] = []
}

/// An MMIO exit (`KVM_EXIT_MMIO`): a guest access to a guest-physical address no memslot backs.
public struct MMIOAccess: Hashable, Sendable {
    /// The guest-physical address.
    public var address: UInt64
    /// The access length in bytes (1 to 8).
    public var length: UInt32
    /// True for a write.
    public var isWrite: Bool
    /// The data written (for a write), little-endian.
    public var data: UInt64
}

/// Why `KVM_RUN` returned: one case per exit reason an x86 guest produces, and a catch-all for the rest.
///
/// Decoded from `kvm_run` right after the exit; it copies what it needs, so it stays valid after the next run.
public enum VcpuExit: Hashable, Sendable {
    /// `KVM_EXIT_IO`.
    case io(IOAccess)
    /// `KVM_EXIT_MMIO`.
    case mmio(MMIOAccess)
    /// `KVM_EXIT_HLT`: the guest halted (there is no in-kernel irqchip to sleep on).
    case hlt
    /// `KVM_EXIT_SHUTDOWN`: the vCPU shut down, usually a triple fault.
    case shutdown
    /// `KVM_EXIT_FAIL_ENTRY`: the CPU refused to enter the guest; `reason` is `hardware_entry_failure_reason`.
    case failEntry(reason: UInt64, cpu: UInt32)
    /// `KVM_EXIT_INTERNAL_ERROR`: KVM could not go on; `data` holds the suberror's words.
    case internalError(suberror: UInt32, data: [UInt64])
    /// `KVM_EXIT_EXCEPTION`.
    case exception(vector: UInt32, errorCode: UInt32)
    /// `KVM_EXIT_DEBUG`: a debug exception KVM hands to user space (guest debug): the vector (1 for #DB, 3 for
    /// #BP), the guest's RIP, and DR6 and DR7 at the exit. On arm64: ESR_EL2's syndrome in `exception`, FAR in
    /// `dr6`, `pc` and `dr7` 0.
    case debug(exception: UInt32, pc: UInt64, dr6: UInt64, dr7: UInt64)
    /// `KVM_EXIT_HYPERCALL`.
    case hypercall(number: UInt64, arguments: [UInt64])
    /// `KVM_EXIT_SYSTEM_EVENT` (reset, shutdown, crash requested by the guest).
    case systemEvent(type: UInt32, data: [UInt64])
    /// `KVM_EXIT_X86_RDMSR`: an RDMSR that user space completes (`VCPU.answerRDMSR`, `failMSRAccess`); `reason`
    /// is `KVM_MSR_EXIT_REASON_*` (INVAL, UNKNOWN, FILTER).
    case readMSR(index: UInt32, reason: UInt32)
    /// `KVM_EXIT_X86_WRMSR`: a WRMSR that user space completes (`VCPU.answerWRMSR`, `failMSRAccess`).
    case writeMSR(index: UInt32, value: UInt64, reason: UInt32)
    /// `KVM_EXIT_MEMORY_FAULT` (39, Linux 6.8): KVM could not resolve a guest access to guest memory.
    case memoryFault(flags: UInt64, gpa: UInt64, size: UInt64)
    /// `KVM_EXIT_INTR`: a signal interrupted the run.
    case interrupted
    /// Any other exit reason, with its number.
    case other(ExitReason)

    /// The exit reason.
    public var reason: ExitReason {
        switch self {
        case .io: return .io
        case .mmio: return .mmio
        case .hlt: return .hlt
        case .shutdown: return .shutdown
        case .failEntry: return .failEntry
        case .internalError: return .internalError
        case .exception: return .exception
        case .debug: return .debug
        case .hypercall: return .hypercall
        case .systemEvent: return .systemEvent
        case .readMSR: return .x86Rdmsr
        case .writeMSR: return .x86Wrmsr
        case .memoryFault: return .memoryFault
        case .interrupted: return .interrupted
        case .other(let reason): return reason
        }
    }

    /// One line, e.g. "MMIO write of 4 bytes at 0x5000_0000_0000" or "SHUTDOWN".
    public var summary: String {
        switch self {
        case .io(let io):
            return "IO \(io.isOut ? "OUT to" : "IN from") port \(hex(io.port)), \(io.size) bytes x \(io.count)"
                + (io.isOut ? ", data \(hex(io.data))" : "")
        case .mmio(let mmio):
            return "MMIO \(mmio.isWrite ? "write" : "read") of \(mmio.length) bytes at \(hex(mmio.address))"
                + (mmio.isWrite ? ", data \(hex(mmio.data))" : "")
        case .failEntry(let reason, let cpu):
            return "FAIL_ENTRY (hardware_entry_failure_reason \(hex(reason)) on host CPU \(cpu))"
        case .internalError(let suberror, let data):
            return "INTERNAL_ERROR (\(InternalErrorSuberror.describe(suberror)), data "
                + "[\(data.map { hex($0) }.joined(separator: ", "))])"
        case .exception(let vector, let errorCode):
            #if arch(x86_64)
            return "EXCEPTION \(X86Exception.mnemonic(UInt64(vector))) error code \(hex(errorCode))"
            #else
            return "EXCEPTION \(vector) error code \(hex(errorCode))"
            #endif
        case .memoryFault(let flags, let gpa, let size):
            return "MEMORY_FAULT at \(hex(gpa)), \(size) bytes, flags \(hex(flags))"
        case .readMSR(let index, _):
            return "X86_RDMSR of MSR \(hex(index))"
        case .writeMSR(let index, let value, _):
            return "X86_WRMSR of MSR \(hex(index)) = \(hex(value))"
        case .hypercall(let number, _):
            return "HYPERCALL \(number)"
        case .systemEvent(let type, _):
            return "SYSTEM_EVENT type \(type)"
        case .debug(let exception, let pc, let dr6, let dr7):
            return "DEBUG exception \(exception) at \(hex(pc)), DR6 \(hex(dr6)), DR7 \(hex(dr7))"
        default:
            return reason.name
        }
    }

    /// Decodes the exit in `run`; `mapSize` bounds reads of the I/O data area.
    static func decode(_ run: UnsafePointer<kvm_run>, mapSize: Int) -> VcpuExit {
        // SAFETY: `run` is the vCPU's live kvm_run mapping (at least sizeof(struct kvm_run) bytes, kept mapped by the
        // VCPU), and the vCPU is not running, so KVM is not writing it. The union members read below are fixed-size
        // C arrays inside that struct; the I/O data area, which lies outside it, is bounds-checked against `mapSize`.
        let reason = ckvm_run_exit_reason(run)
        switch reason {
        case UInt32(KVM_EXIT_IO):
            let offset = Int(ckvm_run_io_data_offset(run))
            let size = Int(ckvm_run_io_size(run))
            let isOut = ckvm_run_io_direction(run) == UInt8(KVM_EXIT_IO_OUT)
            let total = size * Int(ckvm_run_io_count(run))
            var bytes: [UInt8] = []
            if isOut, offset >= 0, total > 0, offset <= mapSize - total {
                // SAFETY: [offset, offset + total) was checked to lie inside the kvm_run mapping.
                bytes = Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(run) + offset, count: total))
            }
            var data: UInt64 = 0
            for (i, byte) in bytes.prefix(8).enumerated() { data |= UInt64(byte) << (8 * UInt64(i)) }
            return .io(
                IOAccess(
                    port: ckvm_run_io_port(run), isOut: isOut, size: UInt8(size), count: ckvm_run_io_count(run),
                    data: data, bytes: bytes))
        case UInt32(KVM_EXIT_MMIO):
            return .mmio(
                MMIOAccess(
                    address: ckvm_run_mmio_phys_addr(run), length: ckvm_run_mmio_len(run),
                    isWrite: ckvm_run_mmio_is_write(run) != 0, data: ckvm_run_mmio_data_u64(run)))
        case UInt32(KVM_EXIT_HLT):
            return .hlt
        case UInt32(KVM_EXIT_SHUTDOWN):
            return .shutdown
        case UInt32(KVM_EXIT_FAIL_ENTRY):
            return .failEntry(
                reason: run.pointee.fail_entry.hardware_entry_failure_reason, cpu: run.pointee.fail_entry.cpu)
        case UInt32(KVM_EXIT_INTERNAL_ERROR):
            let failure = run.pointee.internal
            let count = min(Int(failure.ndata), 16)
            let data = withUnsafeBytes(of: failure.data) { Array($0.bindMemory(to: UInt64.self).prefix(count)) }
            return .internalError(suberror: failure.suberror, data: data)
        case UInt32(KVM_EXIT_EXCEPTION):
            return .exception(vector: run.pointee.ex.exception, errorCode: run.pointee.ex.error_code)
        case UInt32(KVM_EXIT_DEBUG):
            let arch = run.pointee.debug.arch
            #if arch(x86_64)
            return .debug(exception: arch.exception, pc: arch.pc, dr6: arch.dr6, dr7: arch.dr7)
            #else
            // arm64's debug exit gives the syndrome (ESR, in `exception`) and FAR (in `dr6`); PC is read separately.
            return .debug(exception: arch.hsr, pc: 0, dr6: arch.far, dr7: 0)
            #endif
        case UInt32(KVM_EXIT_HYPERCALL):
            let call = run.pointee.hypercall
            return .hypercall(number: call.nr, arguments: withUnsafeBytes(of: call.args) { Array($0.bindMemory(to: UInt64.self)) })
        case UInt32(KVM_EXIT_SYSTEM_EVENT):
            let event = run.pointee.system_event
            let count = min(Int(event.ndata), 16)
            let data = withUnsafeBytes(of: event.data) { Array($0.bindMemory(to: UInt64.self).prefix(count)) }
            return .systemEvent(type: event.type, data: data)
        case UInt32(KVM_EXIT_X86_RDMSR):
            return .readMSR(index: run.pointee.msr.index, reason: run.pointee.msr.reason)
        case UInt32(KVM_EXIT_X86_WRMSR):
            return .writeMSR(index: run.pointee.msr.index, value: run.pointee.msr.data, reason: run.pointee.msr.reason)
        case UInt32(KVM_EXIT_MEMORY_FAULT):
            let fault = ckvm_run_memory_fault(run)
            return .memoryFault(flags: fault.flags, gpa: fault.gpa, size: fault.size)
        case UInt32(KVM_EXIT_INTR):
            return .interrupted
        default:
            return .other(ExitReason(rawValue: reason))
        }
    }
}
