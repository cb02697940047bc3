internal import CKVM
import SystemPackage

/// `KVM_ENABLE_CAP` on a file descriptor, shared by the VM and vCPU forms.
func enableCapability(
    on fd: FileDescriptor, _ capability: Capability, flags: UInt32, arguments: [UInt64], owner: String
) throws(KVMError) {
    guard arguments.count <= 4 else {
        throw .invalidArgument("KVM_ENABLE_CAP takes at most 4 arguments, not \(arguments.count)")
    }
    var request = kvm_enable_cap()
    request.cap = UInt32(bitPattern: capability.rawValue)
    request.flags = flags
    withUnsafeMutableBytes(of: &request.args) { words in
        for (i, argument) in arguments.enumerated() { words.storeBytes(of: argument, toByteOffset: i * 8, as: UInt64.self) }
    }
    try kvmIoctl(fd, CKVM_ENABLE_CAP, &request, "KVM_ENABLE_CAP(\(capability.name)) on the \(owner)")
}

extension VirtualMachine {
    /// Enables a capability for this VM (`KVM_ENABLE_CAP` on the VM file descriptor), with the capability's flags
    /// and up to four arguments as api.rst describes each one.
    ///
    /// - Throws: `.ioctlFailed("KVM_ENABLE_CAP(<name>) on the VM")` with KVM's errno (EINVAL for a capability or
    ///   argument KVM does not take, EBUSY when it must be enabled before vCPUs exist).
    public func enableCapability(_ capability: Capability, flags: UInt32 = 0, arguments: [UInt64] = [])
        throws(KVMError)
    {
        try KVMHarness.enableCapability(on: state.fd, capability, flags: flags, arguments: arguments, owner: "VM")
    }

    /// The value `KVM_CHECK_EXTENSION` returns on the VM file descriptor, which can differ from the system's
    /// (`KVM.check(_:)`) for capabilities that depend on the VM's type or set-up; 0 when absent.
    public func check(_ capability: Capability) -> Int32 { KVM.check(state.fd, capability) }

    /// Whether `KVM_CHECK_EXTENSION` on the VM file descriptor returns more than 0.
    public func has(_ capability: Capability) -> Bool { check(capability) > 0 }
}

extension VCPU {
    /// Enables a capability for this vCPU (`KVM_ENABLE_CAP` on the vCPU file descriptor).
    ///
    /// - Throws: `.ioctlFailed("KVM_ENABLE_CAP(<name>) on vCPU n")` with KVM's errno.
    public func enableCapability(_ capability: Capability, flags: UInt32 = 0, arguments: [UInt64] = [])
        throws(KVMError)
    {
        try KVMHarness.enableCapability(
            on: fd, capability, flags: flags, arguments: arguments, owner: "vCPU \(index)")
    }
}
