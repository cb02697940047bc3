import CKVM
import Synchronization
import SystemPackage
import Testing

@testable import KVMHarness

/// The error paths of the system-call layer, driven through its test seam: no KVM, no real faults.
@Suite("System calls: EINTR, E2BIG and the seam itself, without the kernel")
struct SystemCallSeamTests {
    private static let fakeRequest: UInt = 0xdead
    private static let fakeFD = FileDescriptor(rawValue: 1_000_000)

    @Test("an ioctl interrupted twice by a signal is made again, and its third answer returned")
    func retriesOnEINTR() throws {
        let calls = Atomic<Int>(0)
        let result = try SyscallSeam.withInterposer({ call, _ in
            guard case .ioctl(_, Self.fakeRequest, _) = call else { return nil }
            let n = calls.add(1, ordering: .relaxed).newValue
            return n < 3 ? .fail(.interrupted) : .succeed(7)
        }) { try kvmIoctl(Self.fakeFD, Self.fakeRequest, 0, "KVM_FAKE") }
        #expect(result == 7)
        #expect(calls.load(ordering: .relaxed) == 3)
    }

    @Test("any other errno is thrown at once, naming the ioctl")
    func otherErrnoIsThrown() {
        let calls = Atomic<Int>(0)
        #expect(throws: KVMError.ioctlFailed(operation: "KVM_FAKE", errno: .invalidArgument)) {
            try SyscallSeam.withInterposer({ _, _ in
                calls.add(1, ordering: .relaxed)
                return .fail(.invalidArgument)
            }) { try kvmIoctl(Self.fakeFD, Self.fakeRequest, 0, "KVM_FAKE") }
        }
        #expect(calls.load(ordering: .relaxed) == 1)
    }

    @Test("KVM_GET_SUPPORTED_CPUID answering E2BIG grows the buffer until the entries fit")
    func cpuidBufferGrows() throws {
        let offered = Mutex<[UInt32]>([])
        let table = try SyscallSeam.withInterposer({ call, pointer in
            guard case .ioctl(_, CKVM_GET_SUPPORTED_CPUID, _) = call, let pointer else { return nil }
            let capacity = pointer.load(as: UInt32.self)
            offered.withLock { $0.append(capacity) }
            guard capacity >= 300 else { return .fail(.argListTooLong) }
            pointer.storeBytes(of: UInt32(300), as: UInt32.self)
            let entries = pointer + MemoryLayout<kvm_cpuid2>.size
            for i in 0..<300 {
                var entry = kvm_cpuid_entry2()
                entry.function = UInt32(i)
                entry.eax = UInt32(i) * 3
                (entries + i * MemoryLayout<kvm_cpuid_entry2>.stride).storeBytes(of: entry, as: kvm_cpuid_entry2.self)
            }
            return .succeed(0)
        }) { try CPUIDTable.supported(by: Self.fakeFD) }
        #expect(offered.withLock { $0 } == [128, 256, 512])
        #expect(table.entries.count == 300)
        #expect(table.entries.map { $0.function } == (0..<300).map { UInt32($0) })
        #expect(table.entries[299].eax == 897)
    }

    @Test("a KVM that answers E2BIG to every size is an error after 4096 entries, not a loop")
    func cpuidGivesUp() {
        let offered = Mutex<[UInt32]>([])
        #expect(throws: KVMError.ioctlFailed(operation: "KVM_GET_SUPPORTED_CPUID", errno: .argListTooLong)) {
            try SyscallSeam.withInterposer({ call, pointer in
                guard case .ioctl(_, CKVM_GET_SUPPORTED_CPUID, _) = call, let pointer else { return nil }
                offered.withLock { $0.append(pointer.load(as: UInt32.self)) }
                return .fail(.argListTooLong)
            }) { try CPUIDTable.supported(by: Self.fakeFD) }
        }
        #expect(offered.withLock { $0 } == [128, 256, 512, 1024, 2048, 4096])
    }

    @Test("a file read that is interrupted goes on where it was; one past its limit is an error")
    func readRetriesAndBounds() throws {
        let reads = Atomic<Int>(0)
        let contents = try SyscallSeam.withInterposer({ call, buffer in
            guard case .read(_, let count) = call, let buffer else { return nil }
            switch reads.add(1, ordering: .relaxed).newValue {
            case 1: return .fail(.interrupted)
            case 2, 3:
                buffer.initializeMemory(as: UInt8.self, repeating: 0xab, count: min(count, 10))
                return .succeed(min(count, 10))
            default: return .succeed(0)
            }
        }) { try readToEnd(Self.fakeFD, limit: 100, "read(fake)") }
        #expect(contents == [UInt8](repeating: 0xab, count: 20))

        #expect(throws: KVMError.systemCallFailed(operation: "read(fake)", errno: .fileTooLarge)) {
            try SyscallSeam.withInterposer({ call, buffer in
                guard case .read(_, let count) = call, let buffer else { return nil }
                buffer.initializeMemory(as: UInt8.self, repeating: 1, count: count)
                return .succeed(count)
            }) { try readToEnd(Self.fakeFD, limit: 100_000, "read(fake)") }
        }
    }

    @Test("the interposer belongs to its task: a task beside it reaches the kernel")
    func scopedToTheTask() async throws {
        let outside = Task.detached { () -> KVMError? in
            do throws(KVMError) {
                _ = try kvmIoctl(Self.fakeFD, Self.fakeRequest, 0, "KVM_FAKE")
                return nil
            } catch {
                return error
            }
        }
        let inside = try SyscallSeam.withInterposer({ _, _ in .succeed(42) }) {
            try kvmIoctl(Self.fakeFD, Self.fakeRequest, 0, "KVM_FAKE")
        }
        #expect(inside == 42)
        // The real kernel: there is no such descriptor.
        #expect(await outside.value == .ioctlFailed(operation: "KVM_FAKE", errno: .badFileDescriptor))
    }
}
