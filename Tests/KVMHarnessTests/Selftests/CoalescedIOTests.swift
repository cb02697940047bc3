import Glibc
import KVMHarnessTesting
import TestGuests
import Testing

@testable import KVMHarness

/// A port of Linux 6.18's `coalesced_io_test.c`: MMIO and port writes into registered zones fill the coalesced ring
/// without exits until one entry is left, whatever index the ring starts at; each entry holds the address, size,
/// kind and data the guest wrote; a ucall still exits at once; and after the zones are removed every write exits.
///
/// The suite starts the ring at 6 indices (first, second, middle, last two and one past the middle); the C test
/// starts it at every one of the 170 (`KVMH_COALESCED_ALL_STARTS=1`).
@Suite("selftest coalesced_io_test", .requiresKVM, .requires(.coalescedMMIO), .requires(.coalescedPIO))
struct CoalescedIOTests {
    /// Outside every memslot (guest RAM, and the shared code from 4 GiB), identity-mapped.
    static let mmio: UInt64 = 1 << 37
    static let port: UInt64 = 0x80

    @Test("the coalesced ring at every start index, MMIO and PIO, then without the zones")
    func coalescedIO() throws {
        let vm = try VirtualMachine(configuration: .init())
        try vm.map(gva: Self.mmio, gpa: Self.mmio, size: 4096)
        let probe = try vm.addVCPU(entry: GuestFunction(guest_coalesced_io), arguments: [Self.mmio, 0, Self.port])
        let ring = try vm.coalescedRing(of: probe)
        let size = UInt64(ring.capacity)
        // The entry arguments take the ring size, known only now: set RSI again.
        var registers = try probe.registers()
        registers.rsi = size
        try probe.setRegisters(registers)
        let all = getenv("KVMH_COALESCED_ALL_STARTS") != nil
        let starts = all ? Array(0..<ring.capacity) : [0, 1, ring.capacity / 2, ring.capacity / 2 + 1, ring.capacity - 2, ring.capacity - 1]
        for start in starts {
            try test(vm, probe, ring, start: UInt32(start), size: size)
        }
    }

    private func test(_ vm: VirtualMachine, _ vcpu: VCPU, _ ring: CoalescedRing, start: UInt32, size: UInt64) throws {
        try register(vm, true)
        try runAndVerifyCoalesced(vcpu, ring, start: start, size: size, pio: false)
        try runAndVerifyCoalesced(vcpu, ring, start: start, size: size, pio: true)
        ring.first = start
        ring.last = start
        #expect(try vcpu.nextUcall() == .sync(UcallArguments([0])))
        #expect(ring.first == start && ring.last == start, "a ucall is not coalesced")
        try register(vm, false, pio: false)
        try runAndVerifyExit(vcpu, ring, start: start, size: size, pio: false)
        try register(vm, false, pio: true)
        try runAndVerifyExit(vcpu, ring, start: start, size: size, pio: true)
    }

    /// Registers (or unregisters) the MMIO zone and the port zone, or only one of them.
    private func register(_ vm: VirtualMachine, _ on: Bool, pio: Bool? = nil) throws {
        for (address, isPIO) in [(Self.mmio, false), (Self.port, true)] where pio == nil || pio == isPIO {
            if on {
                try vm.registerCoalescedZone(address: address, size: 8, pio: isPIO)
            } else {
                try vm.unregisterCoalescedZone(address: address, size: 8, pio: isPIO)
            }
        }
    }

    private func runAndVerifyExit(_ vcpu: VCPU, _ ring: CoalescedRing, start: UInt32, size: UInt64, pio: Bool) throws {
        ring.first = start
        ring.last = start
        let event = try vcpu.step()
        if pio {
            guard case .exit(.io(let access)) = event, access.port == UInt16(Self.port), access.isOut,
                access.count == 1, access.size == 4, access.data == Self.port + size - 1
            else { throw Failure("start \(start): expected OUT 0x80 = \(Self.port + size - 1), got \(event)") }
        } else {
            guard case .exit(.mmio(let access)) = event, access.isWrite, access.address == Self.mmio,
                access.length == 8, access.data == Self.mmio + size - 1
            else { throw Failure("start \(start): expected an 8-byte MMIO write of \(Self.mmio + size - 1), got \(event)") }
        }
    }

    private func runAndVerifyCoalesced(_ vcpu: VCPU, _ ring: CoalescedRing, start: UInt32, size: UInt64, pio: Bool)
        throws
    {
        try runAndVerifyExit(vcpu, ring, start: start, size: size, pio: pio)
        #expect((ring.last + 1) % UInt32(size) == ring.first, "start \(start): the ring is full but one")
        for i in 0..<Int(size - 1) {
            let entry = ring[Int(ring.first) + i]
            let expected = i & 1 == 1
                ? CoalescedAccess(address: Self.port, length: 4, isPIO: true, data: Self.port + UInt64(i))
                : CoalescedAccess(address: Self.mmio, length: 8, isPIO: false, data: Self.mmio + UInt64(i))
            if entry != expected {
                throw Failure("start \(start), entry \(i): expected \(expected), got \(entry)")
            }
        }
    }

    private struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
