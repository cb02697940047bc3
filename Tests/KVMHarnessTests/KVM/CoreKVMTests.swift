import Glibc
import KVMHarnessGuest
import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

@Suite("Core: C guest code on real KVM (Swift Testing)", .requiresKVM)
struct CoreKVMTests {
    @Test("GUEST_SYNC_ARGS stages with arguments, then DONE: the exact sequence")
    func syncStages() async throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_sync_stages), arguments: [100, 23])
        let report = await vm.expectRun(ucalls: [
            .sync(stage: 1, 0x11, 0x12),
            .sync(stage: 2, 0x21, 0x22, 0x23),
            .sync(stage: 3, 100, 23, 123),
            .done,
        ])
        #expect(report.vcpus[0].ucalls.count == 4)
    }

    @Test("step by step with nextUcall, as a kernel selftest reads")
    func stepByStep() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_sync_stages), arguments: [1, 2])
        let vcpu = vm.vcpus[0]
        #expect(try vcpu.nextUcall() == .sync([1, 0x11, 0x12]))
        #expect(try vcpu.nextUcall() == .sync([2, 0x21, 0x22, 0x23]))
        #expect(try vcpu.nextUcall() == .sync([3, 1, 2, 3]))
        #expect(try vcpu.nextUcall() == .done)
        #expect(vcpu.lastUcallTransport == .mmio)
        #expect(vcpu.statistics.count(of: .mmio) == 4)
    }

    @Test("copying and zeroing a 1 KiB struct uses the guest runtime's memcpy and memset")
    func structCopy() async throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_struct_copy))
        // sum of 3i + 1 for i in 0..<128 = 3 * 8128 + 128
        await vm.expectRun(ucalls: [.sync(stage: 1, 24512, 128, 1024), .done])
    }

    @Test("a ucall struct straddling a page boundary onto a non-contiguous physical page")
    func straddlingUcall() async throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_straddling_ucall))
        let first: UInt64 = 0x10_0000_0000
        let firstGPA = try vm.allocate(gva: first, size: 4096)
        try vm.allocate(gva: 0x20_0000_0000, size: 4096)  // a spacer, so the next page is not contiguous
        let secondGPA = try vm.allocate(gva: first + 4096, size: 4096)
        #expect(secondGPA != firstGPA + 4096)
        let gva = first + 4096 - 24
        var regs = try vm.vcpus[0].registers()
        regs.rdi = gva
        try vm.vcpus[0].setRegisters(regs)
        await vm.expectRun(ucalls: [.sync([0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6]), .done])
    }

    @Test("a 4-byte write to the ucall address is a typed error")
    func wrongSize() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_ucall_wrong_size))
        #expect(throws: KVMError.malformedUcall(.wrongSize(4))) { try vm.vcpus[0].nextUcall() }
    }

    @Test("a read of the ucall address is a typed error")
    func read() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_ucall_read))
        #expect(throws: KVMError.malformedUcall(.read(size: 8))) { try vm.vcpus[0].nextUcall() }
    }

    @Test("an unmapped ucall pointer is a typed error naming the address")
    func unmappedPointer() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_ucall_unmapped), arguments: [0x3333_0000_0000])
        #expect(throws: KVMError.malformedUcall(.unmappedPointer(gva: 0x3333_0000_0000))) {
            try vm.vcpus[0].nextUcall()
        }
        #expect(
            KVMError.malformedUcall(.unmappedPointer(gva: 0x3333_0000_0000)).description
                == "malformed ucall: the ucall struct pointer 0x333300000000 is not mapped in the guest's page tables")
    }

    @Test("globals: each VM has its own copy, synced explicitly")
    func globals() async throws {
        let first = try VirtualMachine(entry: GuestFunction(guest_counter))
        await first.expectRun(ucalls: [.sync([42]), .done])
        #expect(guest_counter_value == 40, "the guest's copy changed, not the host's")
        try first.syncFromGuest(&guest_counter_value)
        #expect(guest_counter_value == 42)
        guest_counter_value = 100
        let second = try VirtualMachine(entry: GuestFunction(guest_counter))
        await second.expectRun(ucalls: [.sync([102]), .done])
        guest_counter_value = 40
    }

    @Test("returning from the entry function is reported as an ABORT")
    func entryReturns() async throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_returns))
        let report = await vm.run()
        #expect(report.vcpus[0].checkpoints.first == .sync([7]))
        guard case .failed(.abort(let assertion)) = report.vcpus[0].outcome else {
            Issue.record("expected an ABORT, got \(report.vcpus[0].outcome)")
            return
        }
        #expect(assertion.expression == "guest entry function returned (end guest code with GUEST_DONE())")
        #expect(assertion.file == "<kvm-harness>")
    }

    @Test("four vCPUs, each on its own thread, each with its own arguments")
    func multipleVCPUs() async throws {
        let vm = try VirtualMachine()
        for i in 0..<4 { try vm.addVCPU(entry: GuestFunction(guest_per_vcpu), arguments: [UInt64(i)]) }
        let report = await vm.run()
        #expect(report.succeeded)
        for vcpu in report.vcpus {
            #expect(vcpu.checkpoints == [.sync([1, UInt64(vcpu.index)]), .done])
        }
    }

    @Test("the port-I/O transport: IN from 0x1000 with the struct in RDI")
    func pioTransport() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_pio_sync))
        #expect(try vm.vcpus[0].nextUcall() == .sync([1]))
        #expect(vm.vcpus[0].lastUcallTransport == .pio)
        #expect(try vm.vcpus[0].nextUcall() == .done)
        #expect(vm.vcpus[0].lastUcallTransport == .mmio)
    }

    @Test("the ucall address: searched at 5/8 of the space, identity-mapped, published to the guest")
    func ucallAddress() throws {
        let vm = try VirtualMachine(entry: GuestFunction(guest_sync_stages))
        let bits = min(vm.physicalAddressBits, vm.virtualAddressBits - 1)
        #expect(vm.ucallAddress == (1 << UInt64(bits)) / 8 * 5)
        #expect(vm.translate(vm.ucallAddress) == .mapped(gpa: vm.ucallAddress, writable: true, executable: false, user: false))
        let global = withUnsafeMutablePointer(to: &ucall_exit_mmio_addr) { UInt64(UInt(bitPattern: $0)) }
        #expect(try vm.read(UInt64.self, at: global) == vm.ucallAddress)
        #expect(ucall_exit_mmio_addr == 0, "the host's copy is untouched")
    }

    @Test("guest RAM is registered with KVM as it is handed out: 64 MiB first, more when allocations reach past it")
    func ramRegisteredOnDemand() async throws {
        let vm = try VirtualMachine(
            entry: GuestFunction(guest_straddling_ucall), configuration: .init(memorySize: 1 << 30))
        #expect(vm.memslots.slots.filter { $0.purpose == "guest RAM" }.map(\.size) == [64 << 20])
        #expect(vm.memslots.unregisteredRAM?.guestPhysicalAddress == 64 << 20)
        // 80 MiB at a fresh address: its pages come from beyond the first 64 MiB.
        let base: UInt64 = 0x10_0000_0000
        let size: UInt64 = 80 << 20
        let lastGPA = try vm.allocate(gva: base, size: size) + size - 4096
        #expect(lastGPA > 64 << 20)
        #expect(vm.memslots.slots.filter { $0.purpose == "guest RAM" }.map(\.size) == [64 << 20, 64 << 20])
        // The guest writes a ucall struct into the last page: KVM must back it as RAM, or the write would exit as MMIO.
        var regs = try vm.vcpus[0].registers()
        regs.rdi = base + size - 128
        try vm.vcpus[0].setRegisters(regs)
        await vm.expectRun(ucalls: [.sync([0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6]), .done])
    }

    @Test("an explicit ucall address is used; one inside guest RAM is refused")
    func explicitUcallAddress() throws {
        let vm = try VirtualMachine(
            entry: GuestFunction(guest_sync_stages), arguments: [1, 2],
            configuration: .init(ucallAddress: 0x1_2345_6000))
        #expect(vm.ucallAddress == 0x1_2345_6000)
        #expect(try vm.vcpus[0].nextUcall() == .sync([1, 0x11, 0x12]))
        #expect(throws: KVMError.ucallAddressIsGuestRAM(gpa: 0x20_0000)) {
            try VirtualMachine(configuration: .init(ucallAddress: 0x20_0000))
        }
    }
}

@Suite("Newcomer errors opening KVM")
struct DeviceErrorTests {
    @Test("a missing device says how to enable KVM")
    func missing() {
        #expect(throws: KVMError.cannotOpenDevice(path: "/nonexistent/kvm", errno: .noSuchFileOrDirectory)) {
            try KVM(path: "/nonexistent/kvm")
        }
        let text = KVMError.cannotOpenDevice(path: "/dev/kvm", errno: .noSuchFileOrDirectory).description
        #expect(text.hasPrefix("cannot open /dev/kvm: No such file or directory: KVM is not available on this host"))
        #expect(text.contains("modprobe kvm_intel"))
    }

    @Test("a device without permission says to join the kvm group")
    func permissionDenied() throws {
        // Read-only sysfs attributes refuse O_RDWR even to root, so this is a real EACCES on any host.
        let path = "/sys/devices/system/cpu/possible"
        #expect(throws: KVMError.cannotOpenDevice(path: path, errno: .permissionDenied)) { try KVM(path: path) }
        let text = KVMError.cannotOpenDevice(path: path, errno: .permissionDenied).description
        #expect(text == "cannot open \(path): Permission denied: add your user to the kvm group (sudo usermod -aG kvm $USER) and log in again, or make the device readable and writable for you")
    }

    @Test("a file that is not a KVM device is named as such")
    func notADevice() throws {
        let path = "/tmp/kvmharness-not-a-device-\(getpid())"
        let fd = open(path, O_CREAT | O_RDWR, 0o600)
        close(fd)
        defer { unlink(path) }
        #expect(throws: KVMError.self) { try KVM(path: path) }
        do {
            _ = try KVM(path: path)
        } catch {
            #expect(error.description.hasPrefix("\(path) is not a KVM device"))
        }
    }

    @Test("API version and capability errors say what is wrong")
    func versionAndCapability() {
        #expect(
            KVMError.unsupportedAPIVersion(11).description
                == "KVM_GET_API_VERSION returned 11, expected 12: KVMHarness needs KVM API version 12, the stable API of every Linux since 2.6.22")
        #expect(
            KVMError.missingCapability(.syncRegisters).description
                == "KVM lacks KVM_CAP_SYNC_REGS (KVM_CHECK_EXTENSION returned 0): this host's KVM does not offer KVM_CAP_SYNC_REGS; use a newer kernel or another host")
    }
}

@Suite("Bare VMs and vCPUs", .requiresKVM)
struct BareVMTests {
    @Test("a bare VM has no memslots, takes no long-mode vCPU, and its vCPUs come up in the reset state")
    func bareVM() throws {
        let vm = try VirtualMachine(configuration: .bare)
        #expect(vm.memslots.slots.isEmpty)
        #expect(throws: KVMError.self) { try vm.addVCPU(entryAddress: 0x1000) }
        let vcpu = try vm.addBareVCPU(id: 3)
        let registers = try vcpu.registers()
        let special = try vcpu.specialRegisters()
        // The architectural state after RESET (SDM vol. 3, 10.1.1): CS.selector F000h with base FFFF0000h, RIP FFF0h.
        #expect(registers.rip == 0xfff0)
        #expect(registers.rflags == 0x2)
        #expect(special.cs.selector == 0xf000)
        #expect(special.cs.base == 0xffff_0000)
        #expect(special.cr0 & 1 == 0, "real mode")
        #expect(vm.vcpus.isEmpty, "bare vCPUs are the test's, not run()'s")
    }
}
