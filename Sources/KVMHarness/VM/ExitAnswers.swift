internal import CKVM

/// Answers to the exits that wait for user space: what an IN reads, what an MMIO read returns, the result of an
/// RDMSR or WRMSR that exited, the return value of a hypercall. Each writes into `kvm_run`, where KVM takes it at
/// the next `KVM_RUN`; so answer after the exit and before the next run, from the thread that drives the vCPU.
/// Each checks that the last exit is the one it answers and that the data fits, and throws otherwise.
extension VCPU {
    /// Gives the guest the data of the IN it exited on (`KVM_EXIT_IO`, direction in): `size * count` bytes for
    /// the port's access size and repeat count (a string IN with REP reads `count` items), written to
    /// `kvm_run`'s I/O data area.
    ///
    /// - Throws: `.noExitToAnswer` unless the last exit is an IN; `.invalidArgument` if `bytes` is not exactly
    ///   `size * count` bytes long.
    public func answerIn(_ bytes: [UInt8]) throws(KVMError) {
        guard ckvm_run_exit_reason(run) == UInt32(KVM_EXIT_IO), ckvm_run_io_direction(run) == UInt8(KVM_EXIT_IO_IN)
        else { throw .noExitToAnswer(expected: "port I/O IN", last: exitInKVMRun().summary) }
        let length = Int(ckvm_run_io_size(run)) * Int(ckvm_run_io_count(run))
        guard bytes.count == length else {
            throw .invalidArgument("the IN reads \(length) bytes (size \(ckvm_run_io_size(run)) x count "
                + "\(ckvm_run_io_count(run))), not \(bytes.count)")
        }
        let offset = Int(ckvm_run_io_data_offset(run))
        guard offset >= 0, offset <= runMapping.size - length else {
            throw .invalidArgument("KVM's I/O data area (offset \(offset), \(length) bytes) lies outside kvm_run")
        }
        // SAFETY: [offset, offset + length) was checked to lie inside the kvm_run mapping.
        bytes.withUnsafeBytes { (runMapping.base + offset).copyMemory(from: $0.baseAddress!, byteCount: length) }
    }

    /// Gives the guest the value of a single IN (count 1): its low `size` bytes, little-endian.
    public func answerIn(value: UInt64) throws(KVMError) {
        let size = Int(ckvm_run_io_size(run))
        try answerIn((0..<size).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) })
    }

    /// Gives the guest the data of the MMIO read it exited on (`KVM_EXIT_MMIO`, not a write): `length` bytes,
    /// little-endian from `value`.
    ///
    /// - Throws: `.noExitToAnswer` unless the last exit is an MMIO read.
    public func answerMMIORead(value: UInt64) throws(KVMError) {
        guard ckvm_run_exit_reason(run) == UInt32(KVM_EXIT_MMIO), ckvm_run_mmio_is_write(run) == 0 else {
            throw .noExitToAnswer(expected: "MMIO read", last: exitInKVMRun().summary)
        }
        let length = min(Int(ckvm_run_mmio_len(run)), 8)
        withUnsafeMutableBytes(of: &run.pointee.mmio.data) { data in
            for i in 0..<8 { data[i] = i < length ? UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) : 0 }
        }
    }

    /// Completes the RDMSR the guest exited on (`KVM_EXIT_X86_RDMSR`, with `KVM_CAP_X86_USER_SPACE_MSR`): the guest
    /// reads `value`.
    public func answerRDMSR(value: UInt64) throws(KVMError) {
        guard ckvm_run_exit_reason(run) == UInt32(KVM_EXIT_X86_RDMSR) else {
            throw .noExitToAnswer(expected: "X86_RDMSR", last: exitInKVMRun().summary)
        }
        run.pointee.msr.data = value
        run.pointee.msr.error = 0
    }

    /// Completes the WRMSR the guest exited on (`KVM_EXIT_X86_WRMSR`) as done.
    public func answerWRMSR() throws(KVMError) {
        guard ckvm_run_exit_reason(run) == UInt32(KVM_EXIT_X86_WRMSR) else {
            throw .noExitToAnswer(expected: "X86_WRMSR", last: exitInKVMRun().summary)
        }
        run.pointee.msr.error = 0
    }

    /// Fails the RDMSR or WRMSR the guest exited on: KVM injects #GP into the guest (`kvm_run.msr.error = 1`).
    public func failMSRAccess() throws(KVMError) {
        let reason = ckvm_run_exit_reason(run)
        guard reason == UInt32(KVM_EXIT_X86_RDMSR) || reason == UInt32(KVM_EXIT_X86_WRMSR) else {
            throw .noExitToAnswer(expected: "X86_RDMSR or X86_WRMSR", last: exitInKVMRun().summary)
        }
        run.pointee.msr.error = 1
    }

    /// Sets the value the guest's hypercall returns in RAX (`KVM_EXIT_HYPERCALL`, `kvm_run.hypercall.ret`).
    public func answerHypercall(returning value: UInt64) throws(KVMError) {
        guard ckvm_run_exit_reason(run) == UInt32(KVM_EXIT_HYPERCALL) else {
            throw .noExitToAnswer(expected: "HYPERCALL", last: exitInKVMRun().summary)
        }
        run.pointee.hypercall.ret = value
    }
}
