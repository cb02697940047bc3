import Glibc
import SystemPackage

/// Every error KVMHarness throws: what failed, the errno where there is one, and what to do where that helps.
///
/// `description` is one line that a test log or the CLI can print as it is.
public enum KVMError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The KVM device could not be opened (`open("/dev/kvm")`).
    case cannotOpenDevice(path: String, errno: Errno)
    /// `KVM_GET_API_VERSION` returned something other than 12, the only stable KVM API.
    case unsupportedAPIVersion(Int32)
    /// The host's KVM lacks a capability the harness needs (`KVM_CHECK_EXTENSION` returned 0).
    case missingCapability(Capability)
    /// An ioctl failed; `operation` is its name (`KVM_CREATE_VM`, ...).
    case ioctlFailed(operation: String, errno: Errno)
    /// Another system call failed (`mmap`, `pthread_create`, ...).
    case systemCallFailed(operation: String, errno: Errno)
    /// The explicitly requested ucall MMIO address is covered by a memslot, so a store to it would not exit.
    case ucallAddressIsGuestRAM(gpa: UInt64)
    /// The ucall MMIO address search found no guest-physical address outside every memslot.
    case noUcallAddress(addressBits: Int)
    /// The guest made a ucall the host cannot read.
    case malformedUcall(MalformedUcall)
    /// The guest-physical memory ran out while the harness was placing something in it.
    case outOfGuestMemory(requested: UInt64, available: UInt64)
    /// A guest-virtual range the harness was asked to map is already mapped, or overlaps its reserved region.
    case guestAddressInUse(gva: UInt64)
    /// A guest-virtual address the host was asked to read or write is not mapped in the guest's page tables.
    case unmappedGuestAddress(gva: UInt64)
    /// A guest-virtual address maps to a guest-physical address that no memslot backs.
    case guestAddressOutsideMemory(gva: UInt64, gpa: UInt64)
    /// The walk of the guest's page tables for a guest-virtual address met a corrupt table.
    case invalidPageTables(gva: UInt64, PageTableProblem)
    /// A host address (a C global, a function) is not inside the code loaded into this VM.
    case notInGuestImage(hostAddress: UInt64)
    /// An argument was out of range; the message says which and why.
    case invalidArgument(String)
    /// The vCPU stopped with an exit that is not a ucall where a ucall was expected.
    case unexpectedExit(VcpuExit, rip: UInt64)
    /// The vCPU was kicked out of `KVM_RUN` (a deadline passed or another vCPU failed).
    case interrupted
    /// `nextUcall(timeout:)`: vCPU `vcpu` made no ucall within `seconds`; it was stopped at `programCounter`.
    case ucallTimedOut(vcpu: Int, seconds: Double, programCounter: UInt64)
    /// `KVM_GET_MSRS` or `KVM_SET_MSRS` did not process the MSR: KVM does not emulate it for this vCPU, or refused
    /// the value (`write`, nil for a read).
    case msrNotProcessed(index: UInt32, write: UInt64?)
    /// A method that answers an exit was called when the last exit was not one it answers.
    case noExitToAnswer(expected: String, last: String)
    /// A memslot change would cover, delete or move guest-physical memory the harness keeps for itself (its RAM,
    /// the code it shares, the ucall MMIO address); `owner` says which.
    case protectedGuestMemory(gpa: UInt64, owner: String)
    /// A call that changes the VM's memory layout was made while a vCPU was inside `run()`/`step()`.
    case vcpuRunning(operation: String, vcpu: Int)

    /// The errno behind the error, where there is one.
    public var errno: Errno? {
        switch self {
        case .cannotOpenDevice(_, let errno), .ioctlFailed(_, let errno), .systemCallFailed(_, let errno):
            return errno
        default:
            return nil
        }
    }

    /// What to do about it, where the harness can tell.
    public var hint: String? {
        switch self {
        case .cannotOpenDevice(_, .noSuchFileOrDirectory), .cannotOpenDevice(_, .noSuchAddressOrDevice),
            .cannotOpenDevice(_, Errno(rawValue: ENODEV)):
            return "KVM is not available on this host: enable virtualization (VT-x/AMD-V) in the firmware or the "
                + "hypervisor, and load the module (modprobe kvm_intel or modprobe kvm_amd)"
        case .cannotOpenDevice(_, .permissionDenied), .cannotOpenDevice(_, .notPermitted):
            return "add your user to the kvm group (sudo usermod -aG kvm $USER) and log in again, "
                + "or make the device readable and writable for you"
        case .unsupportedAPIVersion:
            return "KVMHarness needs KVM API version 12, the stable API of every Linux since 2.6.22"
        case .missingCapability(let capability):
            return "this host's KVM does not offer \(capability); use a newer kernel or another host"
        case .ucallAddressIsGuestRAM:
            return "pick an address outside guest memory, or let the harness search for one"
        case .outOfGuestMemory:
            return "give the VM more memory"
        case .protectedGuestMemory:
            return "place the slot elsewhere (above the VM's memorySize and away from the ucall address)"
        case .vcpuRunning:
            return "stop the vCPUs first (kick them and wait for their runs to end), or do it before they run"
        case .ioctlFailed(_, .tooManyOpenFiles), .systemCallFailed(_, .tooManyOpenFiles):
            return "raise the open-file limit (ulimit -n)"
        case .ioctlFailed(_, .noMemory), .systemCallFailed(_, .noMemory):
            return "the host is out of memory, or the VM asked for more than the process may map: raise the "
                + "address-space limit (ulimit -v) or give the VM less memory"
        case .systemCallFailed("pthread_create", .resourceTemporarilyUnavailable):
            return "the process may not start another thread or map its stack: raise the thread limit (ulimit -u) "
                + "or the address-space limit (ulimit -v)"
        default:
            return nil
        }
    }

    /// One line: what failed and why, then the hint.
    public var description: String {
        let what: String
        switch self {
        case .cannotOpenDevice(let path, let errno):
            what = "cannot open \(path): \(errno.message)"
        case .unsupportedAPIVersion(let version):
            what = "KVM_GET_API_VERSION returned \(version), expected 12"
        case .missingCapability(let capability):
            what = "KVM lacks \(capability) (KVM_CHECK_EXTENSION returned 0)"
        case .ioctlFailed(let operation, let errno):
            what = "\(operation) failed: \(errno.message) (errno \(errno.rawValue))"
        case .systemCallFailed(let operation, let errno):
            what = "\(operation) failed: \(errno.message) (errno \(errno.rawValue))"
        case .ucallAddressIsGuestRAM(let gpa):
            what = "can't use \(hex(gpa)) as the ucall MMIO address: it is guest RAM"
        case .noUcallAddress(let bits):
            what = "can't find a ucall MMIO address: every candidate below 2^\(bits) is covered by a memslot"
        case .malformedUcall(let problem):
            what = "malformed ucall: \(problem)"
        case .outOfGuestMemory(let requested, let available):
            what = "out of guest memory: needed \(requested) bytes, \(available) left"
        case .guestAddressInUse(let gva):
            what = "guest-virtual address \(hex(gva)) is already mapped or reserved by the harness"
        case .unmappedGuestAddress(let gva):
            what = "guest-virtual address \(hex(gva)) is not mapped in the guest's page tables"
        case .guestAddressOutsideMemory(let gva, let gpa):
            what = "guest-virtual address \(hex(gva)) maps to guest-physical \(hex(gpa)), which no memslot backs"
        case .invalidPageTables(let gva, let problem):
            what = "can't translate guest-virtual address \(hex(gva)): \(problem)"
        case .notInGuestImage(let address):
            what = "host address \(hex(address)) is not in the code loaded into this VM"
        case .invalidArgument(let message):
            what = message
        case .unexpectedExit(let exit, let rip):
            what = "expected a ucall, got \(exit.summary) at \(kvm_regs.programCounterName) \(hex(rip))"
        case .interrupted:
            what = "the vCPU was kicked out of KVM_RUN"
        case .ucallTimedOut(let vcpu, let seconds, let programCounter):
            what = "vCPU \(vcpu) made no ucall within \(seconds) s and was stopped at \(kvm_regs.programCounterName) "
                + "\(hex(programCounter)): the guest loops, waits for something that never comes, or faults again "
                + "and again; step() or the run report shows its exits"
        case .msrNotProcessed(let index, let write):
            if let write {
                what = "KVM_SET_MSRS refused \(hex(write)) for MSR \(hex(index)): KVM rejects that value for this vCPU "
                    + "(a reserved bit, a feature the vCPU's CPUID lacks, or a device the VM lacks, such as an in-kernel "
                    + "local APIC: Configuration(interruptController:))"
            } else {
                what = "KVM_GET_MSRS did not read MSR \(hex(index)): KVM does not emulate it for this vCPU "
                    + "(see KVM.msrIndexList())"
            }
        case .noExitToAnswer(let expected, let last):
            what = "no \(expected) exit to answer: the last exit was \(last); answer an exit before the next run"
        case .protectedGuestMemory(let gpa, let owner):
            what = "guest-physical \(hex(gpa)) is \(owner), which the harness keeps for itself"
        case .vcpuRunning(let operation, let vcpu):
            what = "can't \(operation) while vCPU \(vcpu) runs"
        }
        if let hint { return "\(what): \(hint)" }
        return what
    }
}

/// A ucall the host could not read, and what the guest did instead.
public enum MalformedUcall: Hashable, Sendable, CustomStringConvertible {
    /// The guest read the ucall MMIO address instead of writing it.
    case read(size: Int)
    /// The guest wrote the ucall MMIO address with a store of `size` bytes; a ucall is one 8-byte store.
    case wrongSize(Int)
    /// The struct's guest-virtual address is not mapped in the guest's page tables (at CR3 at the time of the exit).
    case unmappedPointer(gva: UInt64)
    /// The struct's guest-virtual address maps to a guest-physical address outside every memslot.
    case pointerOutsideMemory(gva: UInt64, gpa: UInt64)
    /// The struct at `gva` starts on a mapped page but runs into `page`, which is not mapped.
    case runsIntoUnmappedPage(gva: UInt64, page: UInt64)
    /// The walk of the guest's page tables for `address` (the struct's first byte, or the first byte of a later
    /// page of it) met a corrupt table, so the guest's own access would fault.
    case invalidPageTables(address: UInt64, PageTableProblem)
    /// A ucall made in user mode (CPL3) points at memory on a supervisor-only page (U/S clear in the guest's page
    /// tables), which the caller itself could not access.
    case supervisorOnlyPage(gva: UInt64)
    /// The host must write a host call's reply at `gva`, which the guest's page tables map read-only.
    case readOnlyPage(gva: UInt64)
    /// A host call's buffer, or its reply, would land at `gva`, which is not mapped or maps to guest-physical `gpa`
    /// (nil: not mapped) outside the guest memory the host may read and write.
    case replyOutsideMemory(gva: UInt64, gpa: UInt64?)
    /// A host call's buffer is longer than the host takes (`HostCall.maximumBufferLength`).
    case hostCallBufferTooLong(length: UInt64)
    /// arm64: the guest stored to the ucall MMIO address with an instruction KVM cannot decode from the exception
    /// syndrome (ISV clear: a store pair, a store with writeback, a SIMD store), reported by `KVM_EXIT_ARM_NISV`
    /// (the harness enables `KVM_CAP_ARM_NISV_TO_USER`). `iss` is the syndrome's ISS bits as KVM gives them.
    case storeWithoutSyndrome(iss: UInt64)

    public var description: String {
        switch self {
        case .read(let size):
            return "the guest read \(size) bytes from the ucall MMIO address; a ucall is an 8-byte write"
        case .wrongSize(let size):
            return "the guest wrote \(size) bytes to the ucall MMIO address; a ucall is an 8-byte write"
        case .unmappedPointer(let gva):
            return "the ucall struct pointer \(hex(gva)) is not mapped in the guest's page tables"
        case .pointerOutsideMemory(let gva, let gpa):
            return "the ucall struct pointer \(hex(gva)) maps to guest-physical \(hex(gpa)), outside guest memory"
        case .runsIntoUnmappedPage(let gva, let page):
            return "the ucall struct at \(hex(gva)) runs into \(hex(page)), which is not mapped in the guest's page "
                + "tables; a struct ucall is \(UcallDecoder.structSize) bytes"
        case .invalidPageTables(let address, let problem):
            return "can't translate the ucall struct address \(hex(address)): \(problem)"
        case .supervisorOnlyPage(let gva):
            return "a ucall made in user mode (CPL3) points at \(hex(gva)), on a supervisor-only page (U/S clear in "
                + "the guest's page tables): user-mode code may only hand the host memory it can access itself"
        case .readOnlyPage(let gva):
            return "the host must write a host call's reply at \(hex(gva)), which the guest's page tables map "
                + "read-only (R/W clear): pass a writable struct and buffer"
        case .replyOutsideMemory(let gva, let gpa?):
            return "a host call's buffer or reply at \(hex(gva)) maps to guest-physical \(hex(gpa)), which no "
                + "writable memslot backs: the host reads and writes replies only inside guest memory"
        case .replyOutsideMemory(let gva, nil):
            return "a host call's buffer at \(hex(gva)) is not mapped in the guest's page tables: the host reads and "
                + "writes replies only inside guest memory"
        case .hostCallBufferTooLong(let length):
            return "a host call's buffer is \(length) bytes, more than the \(HostCall.maximumBufferLength) the host "
                + "takes: pass a shorter buffer"
        case .storeWithoutSyndrome(let iss):
            return "the guest stored to the ucall MMIO address with an instruction that has no valid syndrome (ISS "
                + "\(hex(iss)): a store pair, writeback or vector store); a ucall is one single-register 8-byte "
                + "store such as `str x1, [x0]` (ucall_send does that)"
        }
    }

    /// The error for a failed access to the ucall struct at `pointer` (or to what it points at).
    init<M>(_ failure: GuestVirtualMemory<M>.Failure, pointer: UInt64, memory: M.Type) {
        switch failure {
        case .unmapped(let address) where address == pointer: self = .unmappedPointer(gva: pointer)
        case .unmapped(let address): self = .runsIntoUnmappedPage(gva: pointer, page: address)
        case .outsideMemory(_, let gpa): self = .pointerOutsideMemory(gva: pointer, gpa: gpa)
        case .supervisorOnly(let gva): self = .supervisorOnlyPage(gva: gva)
        case .readOnly(let gva): self = .readOnlyPage(gva: gva)
        case .invalidPageTables(let address, let problem): self = .invalidPageTables(address: address, problem)
        }
    }
}

extension Errno {
    /// strerror(3)'s text for this errno.
    var message: String { description }
}
