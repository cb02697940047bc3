import CKVM
import Glibc
import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

/// A port of Linux 6.18's `demand_paging_test.c`: guest memory backed by host memory the test registers with
/// userfaultfd (`MemoryBacking.host`), so every first touch of a page by a vCPU, inside `KVM_RUN`, waits for a host
/// thread to supply the page (`UFFDIO_COPY`); the vCPUs must finish their pass and see exactly the supplied pages.
///
/// Short parameters: 2 vCPUs with 1 MiB each, MISSING mode, one handler thread (the C test: 1 vCPU with 1 GiB).
@Suite("selftest demand_paging_test", .requiresKVM)
struct DemandPagingTests {
    static let vcpus = 2
    static let bytesPerVCPU: UInt64 = 1 << 20
    static let gpa: UInt64 = 1 << 36
    static let gva: UInt64 = 0x10_0000_0000
    /// What every supplied page holds, bytes 8 on (the guest overwrites the first 8).
    static let pattern: UInt8 = 0x5a

    /// Whether this process may use userfaultfd (vm.unprivileged_userfaultfd, or CAP_SYS_PTRACE).
    static let userfaultfdAvailable: Bool = {
        let fd = ckvm_userfaultfd(O_CLOEXEC)
        if fd >= 0 { close(fd) }
        return fd >= 0
    }()

    @Test("vCPUs fault every page in through userfaultfd",
          .enabled(if: userfaultfdAvailable, "requires userfaultfd(2): vm.unprivileged_userfaultfd=1 or CAP_SYS_PTRACE"))
    func demandPaging() throws {
        let total = Self.bytesPerVCPU * UInt64(Self.vcpus)
        let memory = try #require(mmap(nil, Int(total), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        try #require(memory != MAP_FAILED)
        defer { munmap(memory, Int(total)) }
        let uffd = ckvm_userfaultfd(O_CLOEXEC | O_NONBLOCK)
        try #require(uffd >= 0, "userfaultfd: errno \(errno)")
        defer { close(uffd) }
        var api = uffdio_api()
        api.api = CKVM_UFFD_API
        try #require(ckvm_ioctl_ptr(uffd, CKVM_UFFDIO_API, &api) == 0, "UFFDIO_API: errno \(errno)")
        var register = uffdio_register()
        register.range.start = UInt64(UInt(bitPattern: memory))
        register.range.len = total
        register.mode = UInt64(UFFDIO_REGISTER_MODE_MISSING)
        try #require(ckvm_ioctl_ptr(uffd, CKVM_UFFDIO_REGISTER, &register) == 0, "UFFDIO_REGISTER: errno \(errno)")

        let vm = try VirtualMachine(configuration: .init())
        try vm.addMemslot(gpa: Self.gpa, size: total, backing: .host(address: UInt(bitPattern: memory)))
        try vm.map(gva: Self.gva, gpa: Self.gpa, size: total)
        for index in 0..<Self.vcpus {
            try vm.addVCPU(
                entry: GuestFunction(guest_memstress),
                arguments: [Self.gva + UInt64(index) * Self.bytesPerVCPU, Self.bytesPerVCPU / 4096])
        }

        let stop = Locked(false)
        let faults = Locked(0)
        let handlerFailure = Locked<String?>(nil)
        let source = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        source.initializeMemory(as: UInt8.self, repeating: Self.pattern, count: 4096)
        defer { source.deallocate() }
        let sourceAddress = UInt(bitPattern: source)
        let handler = try OSThread {
            while !stop.withLock({ $0 }) {
                var poller = pollfd(fd: uffd, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 10) > 0 else { continue }
                var message = uffd_msg()
                guard read(uffd, &message, MemoryLayout<uffd_msg>.size) == MemoryLayout<uffd_msg>.size else { continue }
                guard message.event == UInt8(UFFD_EVENT_PAGEFAULT) else {
                    handlerFailure.withLock { $0 = "unexpected userfaultfd event \(message.event)" }
                    return
                }
                var copy = uffdio_copy()
                copy.dst = message.arg.pagefault.address & ~0xfff
                copy.src = UInt64(sourceAddress)
                copy.len = 4096
                // EEXIST: another fault on the same page was answered first.
                if ckvm_ioctl_ptr(uffd, CKVM_UFFDIO_COPY, &copy) != 0 && errno != EEXIST {
                    handlerFailure.withLock { $0 = "UFFDIO_COPY: errno \(errno)" }
                    return
                }
                faults.withLock { $0 += 1 }
            }
        }
        let passes = Locked(0)
        let runFailures = Locked([String]())
        let runners = try vm.vcpus.map { vcpu in
            try OSThread {
                do {
                    let ucall = try vcpu.nextUcall()
                    if ucall == .sync(UcallArguments([1])) { passes.withLock { $0 += 1 } }
                    else { runFailures.withLock { $0.append("vCPU \(vcpu.index): \(ucall)") } }
                } catch {
                    runFailures.withLock { $0.append("vCPU \(vcpu.index): \(error)") }
                }
            }
        }
        for runner in runners { runner.join() }
        stop.withLock { $0 = true }
        handler.join()
        #expect(handlerFailure.withLock { $0 } == nil)
        #expect(runFailures.withLock { $0 } == [])
        #expect(passes.withLock { $0 } == Self.vcpus)
        let pages = Int(total / 4096)
        #expect(faults.withLock { $0 } >= pages, "every page faulted in through the handler")
        let view = UnsafeRawBufferPointer(start: memory, count: Int(total))
        let wrong = (0..<pages).filter { page in
            view.load(fromByteOffset: page * 4096, as: UInt64.self) != 1
                || (8..<4096).contains { view[page * 4096 + $0] != Self.pattern }
        }
        #expect(wrong.isEmpty, "\(wrong.count) pages hold something other than the supplied page and the guest's 1")
    }
}
