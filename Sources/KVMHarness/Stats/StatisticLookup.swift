internal import CKVM
import SystemPackage

/// One statistic by name (the kernel selftests' `vm_get_stat` / `vcpu_get_stat`), and the raw statistics file for
/// tests of its format.
extension VirtualMachine {
    /// The value of the VM statistic `name` (the first value of a histogram).
    ///
    /// - Throws: `.invalidArgument` naming the statistics KVM has if it has none called `name`.
    public func statistic(named name: String) throws(KVMError) -> UInt64 {
        try KVMBinaryStatistics.value(named: name, in: binaryStatistics(), owner: "VM")
    }

    /// A new file descriptor for the VM's statistics file (`KVM_GET_STATS_FD`); the caller closes it. The file
    /// keeps the VM alive in the kernel after the VM is gone.
    public func openStatistics() throws(KVMError) -> FileDescriptor {
        FileDescriptor(rawValue: try kvmIoctl(state.fd, CKVM_GET_STATS_FD, 0, "KVM_GET_STATS_FD (VM)"))
    }
}

extension VCPU {
    /// The value of the vCPU statistic `name` (the first value of a histogram).
    public func statistic(named name: String) throws(KVMError) -> UInt64 {
        try KVMBinaryStatistics.value(named: name, in: binaryStatistics(), owner: "vCPU \(index)")
    }

    /// A new file descriptor for the vCPU's statistics file; the caller closes it.
    public func openStatistics() throws(KVMError) -> FileDescriptor {
        FileDescriptor(rawValue: try kvmIoctl(fd, CKVM_GET_STATS_FD, 0, "KVM_GET_STATS_FD (vCPU \(index))"))
    }
}

extension KVMBinaryStatistics {
    /// The first value of the statistic called `name` in `statistics`.
    static func value(named name: String, in statistics: [KVMStatistic], owner: String) throws(KVMError) -> UInt64 {
        guard let statistic = statistics.first(where: { $0.name == name }), let value = statistic.values.first else {
            throw .invalidArgument("the \(owner) has no statistic named \"\(name)\"; it has "
                + statistics.map(\.name).joined(separator: ", "))
        }
        return value
    }
}
