internal import CKVM
import Glibc
import SystemPackage

/// The KVM subsystem: an open `/dev/kvm`, the handle VMs are created from.
///
/// Opening it checks the API version (it must be 12) and the capabilities the harness cannot work without.
public final class KVM: @unchecked Sendable {
    /// Where the KVM device normally is.
    public static let defaultPath = "/dev/kvm"

    /// The device path this handle was opened from.
    public let path: String
    let fd: FileDescriptor
    /// The size of each vCPU's `kvm_run` mapping (`KVM_GET_VCPU_MMAP_SIZE`).
    public let vcpuMmapSize: Int
    #if arch(x86_64)
    /// The CPUID entries KVM supports (`KVM_GET_SUPPORTED_CPUID`), read once.
    public let supportedCPUID: CPUIDTable
    #endif

    /// The capabilities `init` insists on: without them the harness cannot place guest code or read ucalls.
    #if arch(x86_64)
    public static let requiredCapabilities: [Capability] = [
        .userMemory, .syncRegisters, .immediateExit, .readonlyMemory,
    ]
    #else
    public static let requiredCapabilities: [Capability] = [.userMemory, .immediateExit, .readonlyMemory, .oneRegister]
    #endif

    /// Opens the KVM device and checks that it is usable.
    ///
    /// - Parameter path: The device, `/dev/kvm` unless a test points it elsewhere.
    /// - Throws: `KVMError.cannotOpenDevice` (with a hint: enable KVM, or join the kvm group),
    ///   `.unsupportedAPIVersion`, `.missingCapability`, or `.ioctlFailed` naming the ioctl.
    public init(path: String = KVM.defaultPath) throws(KVMError) {
        self.path = path
        let raw = system_open(path, O_RDWR | O_CLOEXEC)
        guard raw >= 0 else { throw .cannotOpenDevice(path: path, errno: Errno(rawValue: errno)) }
        let fd = FileDescriptor(rawValue: raw)
        do {
            let version = system_ioctl(fd.rawValue, CKVM_GET_API_VERSION, 0)
            if version < 0 {
                let error = Errno(rawValue: errno)
                if error == .inappropriateIOCTLForDevice {
                    throw KVMError.invalidArgument(
                        "\(path) is not a KVM device (KVM_GET_API_VERSION: \(error.message)): point the harness at /dev/kvm")
                }
                throw KVMError.ioctlFailed(operation: "KVM_GET_API_VERSION", errno: error)
            }
            guard version == KVM_API_VERSION else { throw KVMError.unsupportedAPIVersion(version) }
            for capability in KVM.requiredCapabilities where KVM.check(fd, capability) <= 0 {
                throw KVMError.missingCapability(capability)
            }
            vcpuMmapSize = Int(try kvmIoctl(fd, CKVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE"))
            #if arch(x86_64)
            supportedCPUID = try CPUIDTable.supported(by: fd)
            #endif
        } catch {
            closeQuietly(fd)
            throw error as! KVMError
        }
        self.fd = fd
        KickSignal.installOnce()
    }

    deinit { closeQuietly(fd) }

    /// The process-wide handle for a device path, opened on first use and kept: a suite that makes thousands of VMs
    /// opens /dev/kvm and reads its CPUID once. A failed open is not cached, so the error comes back each time.
    public static func shared(path: String = KVM.defaultPath) throws(KVMError) -> KVM {
        let cached = sharedHandles.withLock { $0[path] }
        if let cached { return cached }
        let handle = try KVM(path: path)
        return sharedHandles.withLock { handles in
            if let existing = handles[path] { return existing }
            handles[path] = handle
            return handle
        }
    }

    private static let sharedHandles = Locked<[String: KVM]>([:])

    /// The KVM API version (`KVM_GET_API_VERSION`): 12 on every kernel since 2.6.22, and checked when the handle
    /// was opened.
    public func apiVersion() throws(KVMError) -> Int32 {
        try kvmIoctl(fd, CKVM_GET_API_VERSION, 0, "KVM_GET_API_VERSION")
    }

    /// The value `KVM_CHECK_EXTENSION` returns for a capability: 0 when absent, often a count or bit set when present.
    public func check(_ capability: Capability) -> Int32 { KVM.check(fd, capability) }

    /// Whether the host's KVM has a capability (`KVM_CHECK_EXTENSION` returned more than 0).
    public func has(_ capability: Capability) -> Bool { check(capability) > 0 }

    static func check(_ fd: FileDescriptor, _ capability: Capability) -> Int32 {
        max(system_ioctl(fd.rawValue, CKVM_CHECK_EXTENSION, UInt(capability.rawValue)), 0)
    }

    #if arch(x86_64)
    /// The host CPU's physical and linear address widths in bits (CPUID leaf 0x80000008, EAX[7:0] and [15:8]).
    public static var hostAddressBits: (physical: Int, virtual: Int) {
        var registers: [UInt32] = [0, 0, 0, 0]
        guard ckvm_host_cpuid(0x8000_0008, 0, &registers) != 0 else { return (36, 48) }
        return (Int(registers[0] & 0xff), Int((registers[0] >> 8) & 0xff))
    }
    #endif
}
